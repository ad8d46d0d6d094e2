"""Helpers shared by the tests split from test_forecast_account.py."""

from __future__ import annotations

from generator.forecast.account import Account
from generator.forecast.model import Check
from generator.forecast.runner import Forecast, forecast
from generator.params import load_env
from generator.render import render
from tests.conftest import ROOT

ACCOUNT = "123456789012"


def _run(account: Account, env: str, *overrides: str,
         checks: tuple[type[Check], ...] | None = None) -> Forecast:
    rendered = render(load_env(ROOT / "params", env, overrides), ROOT / "templates")
    return forecast(rendered, account, *(() if checks is None else (checks,)))


def _of(result: Forecast, check_id: str) -> list[tuple[str, str]]:
    return [(f.severity, f.message) for f in result.findings if f.check_id == check_id]
