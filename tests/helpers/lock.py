"""Helpers shared by the tests split from test_lock.py."""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.lock import EnvLock, lock_key
from tests.conftest import clients

BUCKET = "stackgen-artifacts-123456789012-us-east-1"
KEY = lock_key("kubenews-local")


def _lock(url: str, reason: str = "deploy", **kwargs: Any) -> EnvLock:
    return EnvLock(clients(url).s3, BUCKET, "us-east-1", "local", "kubenews-local", reason,
                   environ={}, **kwargs)


def _holder(c: Any) -> dict[str, Any] | None:
    try:
        body = c.s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    except c.s3.exceptions.NoSuchKey:
        return None
    except Exception as exc:  # no bucket yet
        if "NoSuchBucket" in str(exc):
            return None
        raise
    return dict(json.loads(body))
