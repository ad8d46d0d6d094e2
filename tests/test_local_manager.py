"""`stackgen local up|down|status`: idempotent, stale state handled, seeds the account."""

from __future__ import annotations

import json
from pathlib import Path

from generator.local.manager import LocalEndpoint, free_port
from tests.conftest import ROOT, clients, run_stackgen


def test_up_down_status_are_idempotent(tmp_path: Path) -> None:
    manager = LocalEndpoint(tmp_path)
    assert manager.status() is None
    port = free_port()
    first, started = manager.up(port=port)
    try:
        assert started and first.port == port and first.url == f"http://127.0.0.1:{port}"
        again, started_again = manager.up()
        assert again == first and not started_again
        assert manager.status() == first
    finally:
        assert manager.down()
    assert manager.status() is None
    assert not manager.down()


def test_stale_state_file_is_cleaned(tmp_path: Path) -> None:
    manager = LocalEndpoint(tmp_path)
    manager.state_file.write_text(json.dumps({"pid": 999_999_999, "port": free_port()}))
    assert manager.status() is None
    assert not manager.state_file.exists()


def test_cli_up_seeds_the_zone_and_prints_the_url(tmp_path: Path) -> None:
    for name in ("params", "templates"):
        (tmp_path / name).symlink_to(ROOT / name)
    port = str(free_port())
    up = run_stackgen(["local", "up", "--port", port], cwd=tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        url = f"http://127.0.0.1:{port}"
        assert f"export AWS_ENDPOINT_URL={url}" in up.stdout
        assert "seeded hosted zone stackgen.test." in up.stdout
        zones = clients(url).route53.list_hosted_zones()["HostedZones"]
        assert [z["Name"] for z in zones] == ["stackgen.test."]
        printed = run_stackgen(["local", "up", "--print-url"], cwd=tmp_path)
        assert printed.stdout.strip() == url  # already running: same endpoint, seeded once
        assert len(clients(url).route53.list_hosted_zones()["HostedZones"]) == 1
        status = run_stackgen(["local", "status"], cwd=tmp_path)
        assert status.returncode == 0 and url in status.stdout
    finally:
        down = run_stackgen(["local", "down"], cwd=tmp_path)
    assert "stopped" in down.stdout
    assert run_stackgen(["local", "status"], cwd=tmp_path).returncode == 1
