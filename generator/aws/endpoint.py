"""The AWS session for a ``Route``: where an env's calls go and with which credentials.

The deploy path has no local/remote switch: it gets a session from a Route
and uses it. The AWS route is boto3's standard environment (profile, keys,
SSO, AWS_ENDPOINT_URL); the local endpoint's route pins every client to its
URL and to throw-away credentials, so nothing meant for it can reach a real
account and no real key is ever sent to it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import botocore.session
import msgspec
from botocore.config import Config
from botocore.loaders import Loader, create_loader

# Adaptive retries absorb throttling; the cap keeps a broken endpoint from hanging us.
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8},
                      connect_timeout=5, read_timeout=60)

# The first call of a command: a dead endpoint should fail in a second, not after
# eight adaptive retries.
PROBE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3,
                      read_timeout=20)

# moto accepts any credentials; the local route always uses these.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class Route(msgspec.Struct, frozen=True):
    """Where AWS calls go. ``endpoint_url`` None: boto3's own resolution (AWS, or
    AWS_ENDPOINT_URL); ``credentials`` None: the standard credential chain."""

    label: str
    endpoint_url: str | None = None
    credentials: tuple[tuple[str, str], ...] | None = None


AWS = Route("AWS (the standard credential chain and endpoints)")


def local_route(url: str) -> Route:
    return Route(f"the local endpoint at {url}", url, tuple(LOCAL_CREDENTIALS.items()))


class Session:
    """The run's session for one route and region: a botocore session (boto3 adds
    nothing the deploy path uses, and importing it costs s3transfer), with boto3's
    ``client()`` call. Each client is made once per (service, config) and kept: a
    run makes clients only for the services it touches. Making clients from one
    session is not thread-safe (boto3 guide, "Multithreading or multiprocessing with
    clients"; a made client is), so they are made under the session's lock. Every
    session of the process shares one loader: a service model is read once per run,
    whatever the route, region or credentials.

    ``endpoint_url`` pins every client to one endpoint, whatever the caller or the
    environment (AWS_ENDPOINT_URL_<SERVICE>, a profile's endpoint_url) says: an
    endpoint passed to the client constructor always wins over configured ones (AWS
    SDKs and Tools Reference Guide, "Service-specific endpoints")."""

    def __init__(self, region_name: str, endpoint_url: str | None = None,
                 credentials: Mapping[str, str] | None = None,
                 core: botocore.session.Session | None = None) -> None:
        self.core = core if core is not None else botocore.session.Session()
        self.core.register_component("data_loader", shared_loader())
        self.core.set_config_variable("region", region_name)
        if credentials:
            self.core.set_credentials(credentials["aws_access_key_id"],
                                      credentials["aws_secret_access_key"],
                                      credentials.get("aws_session_token"))
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        # Keyed by the config itself (compared and hashed by identity), which the key
        # keeps alive: by id() alone, a freed config's address could be reused by
        # another and get a client with the wrong retries and timeouts.
        self._clients: dict[tuple[str, Config | None], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, config: Config | None = None) -> Any:
        """The session's client of ``service`` with ``config``, made on first use."""
        key = (service, config)
        with self._lock:
            made = self._clients.get(key)
            if made is None:
                made = self._clients[key] = self.core.create_client(
                    service, region_name=self.region_name, endpoint_url=self.endpoint_url,
                    config=config)
            return made

    @property
    def services(self) -> list[str]:
        """The services this session made clients for, in order."""
        return list(dict.fromkeys(service for service, _ in self._clients))

    def get_credentials(self) -> Any:
        return self.core.get_credentials()


_LOADER: list[Loader] = []
_LOADER_LOCK = threading.Lock()


def shared_loader() -> Loader:
    """The process's one botocore loader (it memoises every model it reads)."""
    with _LOADER_LOCK:
        if not _LOADER:
            _LOADER.append(create_loader())
        return _LOADER[0]


def isolated_botocore() -> botocore.session.Session:
    """A botocore session that reads no profile, config or credentials file: the
    user's AWS setup (AWS_PROFILE naming a profile that is absent here, say) has no
    say over a pinned route."""
    return botocore.session.Session(session_vars={
        "profile": (None, None, None, None),
        "config_file": (None, None, os.devnull, None),
        "credentials_file": (None, None, os.devnull, None),
    })


def session(region: str, route: Route = AWS,
            credentials: Mapping[str, str] | None = None) -> Session:
    """A session for ``route`` in ``region`` (AWS_REGION/AWS_DEFAULT_REGION win);
    ``credentials`` (an assumed role's) over the route's own."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or region
    return routed(region, route, credentials)


def routed(region: str, route: Route, credentials: Mapping[str, str] | None = None) -> Session:
    """A session for ``route`` in exactly ``region``."""
    if route.endpoint_url is None:
        return Session(region, credentials=credentials)
    return Session(region, route.endpoint_url, credentials or dict(route.credentials or ()),
                   core=isolated_botocore())
