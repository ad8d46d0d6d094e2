"""Forecast findings as text (grouped by stack), JSON or SARIF 2.1.0."""

from __future__ import annotations

import json
from itertools import groupby

import click

from generator import __version__
from generator.forecast.checks import ALL
from generator.forecast.result import Forecast

STYLE = {"error": "red", "warning": "yellow", "info": "blue"}
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def text(result: Forecast, color: bool = False) -> str:
    def bold(s: str) -> str:
        return click.style(s, bold=True) if color else s

    out = [bold(f"forecast of env '{result.env}'") +
           f": {len(result.checks)} checks in {result.seconds:.2f} s, {result.api_calls} API calls"
           + (f"; account checks skipped (--offline): {', '.join(result.skipped)}"
              if result.skipped else "")]
    by_stack = sorted(result.findings, key=lambda f: f.stack)
    for stack, group in groupby(by_stack, key=lambda f: f.stack):
        out.append(bold(stack))
        for f in group:
            label = f"{f.severity:<7}"
            if color:
                label = click.style(label, fg=STYLE[f.severity])
            out.append(f"  {f.check_id} {label} {f.resource}: {f.message}")
            out.append(f"          fix: {f.fix}")
    out.append(f"{result.count('error')} errors, {result.count('warning')} warnings, "
               f"{result.count('info')} info")
    return "\n".join(out) + "\n"


def as_json(result: Forecast) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n"


def sarif(result: Forecast) -> str:
    rules = [{"id": c.id, "name": c.__name__, "shortDescription": {"text": c.title},
              **({"helpUri": c.source} if c.source.startswith("https://") else {})}
             for c in ALL]
    results = [{
        "ruleId": f.check_id,
        "level": SARIF_LEVEL[f.severity],
        "message": {"text": f"{result.env}/{f.stack} {f.resource}: {f.message} Fix: {f.fix}"},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": f"build/{result.env}/{f.stack}.yaml"}}}],
    } for f in result.findings]
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "stackgen-forecast", "version": __version__,
                                         "rules": rules}},
                     "results": results}]}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def formatted(fmt: str, result: Forecast, color: bool) -> str:
    if fmt == "json":
        return as_json(result)
    if fmt == "sarif":
        return sarif(result)
    return text(result, color)
