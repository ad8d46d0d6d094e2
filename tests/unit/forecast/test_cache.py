"""Issue 28: a gate's forecast is worked only where its inputs changed. A clean result
is reused while the rendered stacks, the env's config and the account stay as they were
and the account's answers are younger than the TTL; anything else runs it again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from generator.aws.endpoint import local_route
from generator.aws.session import Aws
from generator.deploy import connect
from generator.deploy.connect import Connection
from generator.deploy.units import Unit
from generator.forecast.cache import ForecastCache, inputs_digest, ttl_from_env
from generator.forecast.model import Finding
from generator.forecast.runner import Forecast, ForecastFailed
from generator.params import load_env
from generator.references import Lookups
from generator.render import Rendered, render
from generator.ui import Console
from tests.conftest import ROOT

WHERE = ("123456789012", "us-east-1", "the local endpoint")
WARNING = Finding("F407", "t", "warning", "cluster", "Cluster", "no role", "create it")
ERROR = Finding("F102", "t", "error", "ecs", "Service", "cannot roll", "lower it")


def _render(*overrides: str) -> Rendered:
    return render(load_env(ROOT / "params", "local", list(overrides)), ROOT / "templates")


def _result(*findings: Finding, incomplete: tuple[str, ...] = ()) -> Forecast:
    return Forecast("local", list(findings), ["F102", "F407"], [], 1.5, 36, list(incomplete))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_clean_result_is_reused_within_the_ttl_and_not_after(tmp_path: Path) -> None:
    clock = Clock()
    cache = ForecastCache(tmp_path, ttl=300, clock=clock)
    cache.put("local", "k", _result(WARNING))
    clock.now += 299
    again = cache.get("local", "k")
    assert again is not None and again.cached_at == 1_000_000.0
    assert again.findings == [WARNING] and again.checks == ["F102", "F407"]
    assert again.api_calls == 0
    clock.now += 2  # the account's answers are now older than the TTL
    assert cache.get("local", "k") is None


def test_another_key_an_error_or_an_unfinished_check_is_never_reused(tmp_path: Path) -> None:
    cache = ForecastCache(tmp_path, ttl=300, clock=Clock())
    cache.put("local", "k", _result(WARNING))
    assert cache.get("local", "other") is None
    cache.put("dev", "k", _result(ERROR))
    assert cache.get("dev", "k") is None
    cache.put("prod", "k", _result(incomplete=("F301",)))
    assert cache.get("prod", "k") is None
    off = ForecastCache(tmp_path, ttl=0, clock=Clock())
    assert off.get("local", "k") is None


@pytest.mark.parametrize("damage", ["", "{", "[]", "tampered"])
def test_a_damaged_entry_is_ignored(tmp_path: Path, damage: str) -> None:
    cache = ForecastCache(tmp_path, ttl=300, clock=Clock())
    cache.put("local", "k", _result(WARNING))
    entry = tmp_path / "local.json"
    if damage == "tampered":  # a finding dropped by hand: the entry's hash no longer holds
        doc = json.loads(entry.read_text())
        doc["result"]["findings"] = []
        entry.write_text(json.dumps(doc))
    else:
        entry.write_text(damage)
    assert cache.get("local", "k") is None


def test_the_digest_follows_templates_parameters_config_and_account() -> None:
    base = _render()
    key = inputs_digest(base, WHERE, {})
    assert inputs_digest(_render(), WHERE, {}) == key  # rendered again: same inputs
    assert inputs_digest(base, ("210987654321", *WHERE[1:]), {}) != key
    assert inputs_digest(base, WHERE, {"public_dns": True}) != key
    assert inputs_digest(_render("ecs.service.autoscaling.max_tasks=2"), WHERE, {}) != key
    stack = base.stacks["ecs"]
    changed = msgspec.structs.replace(base, stacks={**base.stacks, "ecs": msgspec.structs.replace(
        stack, template=stack.template + "\n# changed\n")})
    assert inputs_digest(changed, WHERE, {}) != key


def test_ttl_comes_from_the_environment() -> None:
    assert ttl_from_env({}) == 300
    assert ttl_from_env({"STACKGEN_FORECAST_TTL": "0"}) == 0
    assert ttl_from_env({"STACKGEN_FORECAST_TTL": "soon"}) == 300


def _conn(rendered: Rendered) -> Connection:
    route = local_route("http://127.0.0.1:1")
    aws: Any = Aws(session=None, cfn=None, account=WHERE[0], route=route)  # type: ignore[arg-type]
    return Connection(Unit("local", None, rendered), rendered, aws, Console(color=False),
                      Lookups(None), False)


def test_the_gate_runs_the_forecast_only_when_its_inputs_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []
    answer = [_result(WARNING)]

    def fresh(conn: Connection, accounts: dict[int, Any]) -> Forecast:
        ran.append(conn.label)
        return answer[0]

    monkeypatch.setattr(connect, "fresh_forecast", fresh)
    monkeypatch.setenv("STACKGEN_FORECAST_TTL", "300")
    rendered = _render()
    connect.run_forecast(_conn(rendered), {}, True, tmp_path)
    assert ran == ["local"]
    assert "forecast: 0 errors, 1 warnings, 0 info (2 checks, 36 API calls" in capsys.readouterr().out
    again = connect.run_forecast(_conn(_render()), {}, True, tmp_path)
    assert ran == ["local"] and again.findings == [WARNING]
    assert "forecast: unchanged since " in capsys.readouterr().out
    # A changed parameter: the forecast runs again, and its error refuses the deploy.
    answer[0] = _result(ERROR)
    with pytest.raises(ForecastFailed, match="forecast found 1 error"):
        connect.run_forecast(_conn(_render("ecs.service.autoscaling.max_tasks=2")), {}, True, tmp_path)
    assert ran == ["local", "local"]
    # Without a cache directory (`stackgen forecast` itself), it always runs.
    answer[0] = _result(WARNING)
    connect.run_forecast(_conn(rendered), {}, True, None)
    assert len(ran) == 3
