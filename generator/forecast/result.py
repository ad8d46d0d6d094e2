"""A forecast's result and its refusal, apart from the checks that make it: a deploy that
reuses a cached clean result (generator/forecast/cache.py) reads these, and imports no
check (issue 28: nothing on a command's start-up path it does not need)."""

from __future__ import annotations

from typing import Any

import msgspec

from generator.errors import StackgenError
from generator.forecast.model import SEVERITY_RANK, Finding


class Forecast(msgspec.Struct):
    env: str
    findings: list[Finding]
    checks: list[str]  # ids of the checks that ran
    skipped: list[str] = msgspec.field(default_factory=list)  # account checks not run (--offline)
    seconds: float = 0.0
    api_calls: int = 0
    # Checks that could not make a call they needed: such a result is not kept to reuse.
    incomplete: list[str] = msgspec.field(default_factory=list)
    cached_at: float | None = None  # epoch seconds: the result reused, from when it ran

    @property
    def clean(self) -> bool:
        """No errors and every check done: a result worth reusing while inputs stay."""
        return not self.failing("error") and not self.incomplete

    def failing(self, threshold: str) -> list[Finding]:
        rank = SEVERITY_RANK[threshold]
        return [f for f in self.findings if SEVERITY_RANK[f.severity] >= rank]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "checks": self.checks, "skipped": self.skipped,
                "seconds": round(self.seconds, 3), "api_calls": self.api_calls,
                "findings": [f.to_dict() for f in self.findings]}


class ForecastFailed(StackgenError):
    """The forecast predicts errors: `deploy`/`apply` stop before any change set."""

    exit_code = 1

    def __init__(self, result: Forecast):
        errors = result.failing("error")
        first = errors[0]
        super().__init__(
            f"forecast found {len(errors)} error(s), first {first.stack}/{first.resource}: "
            f"{first.check_id} {first.message}; see `stackgen forecast --env {result.env}` "
            "(--no-forecast skips)")
        self.result = result
