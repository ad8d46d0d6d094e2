"""Run the checks: offline ones in turn, account ones concurrently (they are independent,
and share answers through the Account's memo)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from generator.forecast.account import Account, ApiError
from generator.forecast.checks import ALL
from generator.forecast.model import SEVERITY_RANK, Check, Finding, Subject
from generator.forecast.result import Forecast, ForecastFailed
from generator.render import Rendered

__all__ = ["Forecast", "ForecastFailed", "forecast", "gate"]


def _run(check: Check, subject: Subject, account: Account | None) -> tuple[list[Finding], bool]:
    """The check's findings, and whether it was done (every call it needed answered)."""
    try:
        return check.run(subject, account), True
    except ApiError as exc:
        # A call we could not make is a check not done: say so, never pass silently.
        return [check.finding("warning", "-", "-", f"not checked: {exc}",
                              "allow this read-only call to the credentials, or run where the "
                              "endpoint answers it")], False


def _order(f: Finding) -> tuple[int, str, str, str]:
    return (-SEVERITY_RANK[f.severity], f.check_id, f.stack, f.resource)


def forecast(rendered: Rendered, account: Account | None,
             checks: Sequence[type[Check]] = ALL, options: dict[str, Any] | None = None,
             workers: int = 8) -> Forecast:
    """Every check over the rendered env; account checks only when ``account`` is given."""
    start = time.perf_counter()
    subject = Subject(rendered, options or {})
    _ = subject.templates  # parse once, before threads share the subject
    offline = [c() for c in checks if not c.needs_account]
    online = [c() for c in checks if c.needs_account]
    findings: list[Finding] = []
    incomplete: list[str] = []
    for c in offline:
        found, done = _run(c, subject, None)
        findings += found
        incomplete += [] if done else [c.id]
    ran = [c.id for c in offline]
    skipped = []
    if account is None:
        skipped = [c.id for c in online]
    elif online:
        with ThreadPoolExecutor(max_workers=min(workers, len(online))) as pool:
            for c, (found, done) in zip(online, pool.map(
                    lambda c: _run(c, subject, account), online), strict=True):
                findings += found
                incomplete += [] if done else [c.id]
        ran += [c.id for c in online]
    findings.sort(key=_order)
    return Forecast(rendered.env.name, findings, ran, skipped, time.perf_counter() - start,
                    len(account.calls) if account else 0, incomplete)


def gate(rendered: Rendered, account: Account | None) -> Forecast:
    """For `plan`, `deploy` and `apply`: the forecast, refused when it predicts errors."""
    result = forecast(rendered, account)
    if result.failing("error"):
        raise ForecastFailed(result)
    return result
