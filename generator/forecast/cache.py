"""The forecast's last clean result per env, reused while nothing it reads has changed.

A gate's forecast (deploy, plan, apply) reads the rendered stacks (templates,
parameters, tags), the env's config, the account and endpoint it asks, and the checks'
own code; and it asks the account questions whose answers change slowly (instance
types offered, quotas, the hosted zone, images). The key is a digest of the first; the
account's answers are trusted for ``ttl`` seconds (STACKGEN_FORECAST_TTL, default 300).
Only a clean result is kept (no errors, every check done): a refused or incomplete
forecast always runs again. An entry is written whole or not at all, and one that does
not verify is ignored: the cache may make a forecast faster, never hide a finding.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from generator.atomic import replace_atomically
from generator.forecast.model import Finding
from generator.forecast.result import Forecast
from generator.render import Rendered

DEFAULT_TTL = 300.0
FORECAST_DIR = Path(__file__).resolve().parent


def ttl_from_env(environ: dict[str, str] | None = None) -> float:
    """STACKGEN_FORECAST_TTL seconds (0 turns the cache off); the default when unset or
    not a number."""
    raw = (os.environ if environ is None else environ).get("STACKGEN_FORECAST_TTL", "")
    try:
        return max(0.0, float(raw)) if raw.strip() else DEFAULT_TTL
    except ValueError:
        return DEFAULT_TTL


def code_fingerprint() -> str:
    """Changes whenever a check (or the forecast's machinery) changes."""
    digest = hashlib.sha256()
    for path in sorted(FORECAST_DIR.rglob("*.py")):
        digest.update(str(path.relative_to(FORECAST_DIR)).encode() + path.read_bytes())
    return digest.hexdigest()


def inputs_digest(rendered: Rendered, where: Sequence[str], options: dict[str, Any]) -> str:
    """What the forecast reads: every stack as rendered, the env's config, where it asks
    (account, region, endpoint) and the checks' code."""
    import msgspec

    digest = hashlib.sha256()
    for part in (rendered.env.name, *where, json.dumps(options, sort_keys=True, default=str),
                 code_fingerprint()):
        digest.update(part.encode() + b"\0")
    digest.update(msgspec.json.encode(rendered.env.config) + b"\0")
    for name in sorted(rendered.stacks):
        stack = rendered.stacks[name]
        digest.update(f"{name}\0{stack.stack_name}\0".encode())
        digest.update(stack.template.encode() + b"\0" + stack.params_json.encode() + b"\0")
    return digest.hexdigest()


def _entry_digest(key: str, at: float, result: dict[str, Any]) -> str:
    body = json.dumps([key, at, result], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class ForecastCache:
    """One file per unit (env, or env@account/region) under ``directory``; ``clock``:
    the wall clock (a test passes its own)."""

    def __init__(self, directory: Path, ttl: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.ttl = ttl_from_env() if ttl is None else ttl
        self.clock = clock

    def _path(self, unit: str) -> Path:
        return self.directory / (re.sub(r"[^A-Za-z0-9_.-]", "_", unit) + ".json")

    def get(self, unit: str, key: str) -> Forecast | None:
        """The clean result kept for ``key``, when it is younger than the TTL."""
        if self.ttl <= 0:
            return None
        try:
            doc = json.loads(self._path(unit).read_bytes())
            at, result = float(doc["at"]), doc["result"]
            if doc["key"] != key or doc["sha256"] != _entry_digest(key, at, result):
                return None
            if not 0 <= self.clock() - at <= self.ttl:
                return None
            findings = [Finding(r["id"], r["title"], r["severity"], r["stack"],
                                r["resource"], r["message"], r["fix"])
                        for r in result["findings"]]
            return Forecast(str(result["env"]), findings, list(result["checks"]),
                            list(result["skipped"]), 0.0, 0, [], cached_at=at)
        except (OSError, ValueError, KeyError, TypeError):  # missing, torn, another shape
            return None

    def put(self, unit: str, key: str, result: Forecast) -> None:
        """Keep ``result`` if it is clean; a cache that cannot be written is skipped."""
        if self.ttl <= 0 or not result.clean:
            return
        at = self.clock()
        body = result.to_dict()
        doc = {"key": key, "at": at, "result": body, "sha256": _entry_digest(key, at, body)}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            replace_atomically(self._path(unit), json.dumps(doc).encode())
        except OSError:
            pass
