"""The AWS session for a ``Route``: where an env's calls go and with which credentials.

The deploy path has no local/remote switch: it gets a session from a Route
and uses it. The AWS route is boto3's standard environment (profile, keys,
SSO, AWS_ENDPOINT_URL); the local endpoint's route pins every client to its
URL and to throw-away credentials, so nothing meant for it can reach a real
account and no real key is ever sent to it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

# Adaptive retries absorb throttling; the cap keeps a broken endpoint from hanging us.
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8},
                      connect_timeout=5, read_timeout=60)

# The first call of a command: a dead endpoint should fail in a second, not after
# eight adaptive retries.
PROBE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3,
                      read_timeout=20)

# moto accepts any credentials; the local route always uses these.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class Route:
    """Where AWS calls go. ``endpoint_url`` None: boto3's own resolution (AWS, or
    AWS_ENDPOINT_URL); ``credentials`` None: the standard credential chain."""

    label: str
    endpoint_url: str | None = None
    credentials: tuple[tuple[str, str], ...] | None = None


AWS = Route("AWS (the standard credential chain and endpoints)")


def local_route(url: str) -> Route:
    return Route(f"the local endpoint at {url}", url, tuple(LOCAL_CREDENTIALS.items()))


class PinnedSession(boto3.session.Session):  # type: ignore[misc]
    """A session whose every client goes to one endpoint, whatever the caller or the
    environment (AWS_ENDPOINT_URL_<SERVICE>, a profile's endpoint_url) says: an endpoint
    passed to the client constructor always wins over configured ones (AWS SDKs and Tools
    Reference Guide, "Service-specific endpoints")."""

    def __init__(self, endpoint_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._endpoint_url = endpoint_url

    def client(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["endpoint_url"] = self._endpoint_url
        return super().client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["endpoint_url"] = self._endpoint_url
        return super().resource(*args, **kwargs)


def isolated_botocore() -> Any:
    """A botocore session that reads no profile, config or credentials file: the
    user's AWS setup (AWS_PROFILE naming a profile that is absent here, say) has no
    say over a pinned route."""
    return botocore.session.Session(session_vars={
        "profile": (None, None, None, None),
        "config_file": (None, None, os.devnull, None),
        "credentials_file": (None, None, os.devnull, None),
    })


def session(region: str, route: Route = AWS) -> Any:
    """A session for ``route`` in ``region`` (AWS_REGION/AWS_DEFAULT_REGION win)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or region
    if route.endpoint_url is None:
        return boto3.session.Session(region_name=region)
    return PinnedSession(route.endpoint_url, botocore_session=isolated_botocore(),
                          region_name=region, **dict(route.credentials or ()))
