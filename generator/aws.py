"""The AWS session, from the standard environment (profile, region, AWS_ENDPOINT_URL).

There is no local/remote switch here: boto3 itself honours AWS_ENDPOINT_URL, so
the same calls reach the local endpoint or AWS.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

# Adaptive retries absorb throttling; the cap keeps a broken endpoint from hanging us.
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8},
                      connect_timeout=5, read_timeout=60)

# The first call of a command: a dead endpoint should fail in a second, not after
# eight adaptive retries.
PROBE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3,
                      read_timeout=20)

# moto accepts any credentials; these are only used when none are configured.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def session(region: str) -> Any:
    """A session for ``region`` unless AWS_REGION/AWS_DEFAULT_REGION or a profile say otherwise."""
    explicit = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.session.Session(region_name=explicit or region)


def local_session(region: str) -> Any:
    """A session for talking to the local endpoint directly (seeding, tests)."""
    base = boto3.session.Session(region_name=region)
    if base.get_credentials() is None:
        return boto3.session.Session(region_name=region, **LOCAL_CREDENTIALS)
    return base
