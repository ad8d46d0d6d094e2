"""`target: local` on the local endpoint: never a real account, never another endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.aws.session import (
    LocalEndpointNotRunning,
    RouteMismatch,
    resolve_route,
)
from generator.local.manager import free_port
from tests.helpers.env_target import _config


def test_local_env_never_falls_through_to_a_real_account(tmp_path: Path) -> None:
    """Real-looking keys and a profile in the environment, no endpoint running: refused
    before any call, whatever credentials are at hand."""
    environ = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_PROFILE": "prod",
               "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    with pytest.raises(LocalEndpointNotRunning, match="stackgen local up"):
        resolve_route(_config("local"), tmp_path / ".stackgen", environ)


@pytest.mark.parametrize("url", ["https://cloudformation.us-east-1.amazonaws.com",
                                 "http://127.0.0.1:{closed}"])
def test_local_env_refuses_an_endpoint_url_that_is_not_the_local_endpoint(
        tmp_path: Path, url: str) -> None:
    url = url.format(closed=free_port())
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION"):
        with pytest.raises(RouteMismatch, match=f"{key}={url} is not a running stackgen"):
            resolve_route(_config("local"), tmp_path, {key: url})

