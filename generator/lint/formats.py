"""Lint findings as text (grouped by stack), JSON, SARIF 2.1.0 or JUnit XML."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path

import click

from generator import __version__
from generator.lint.engine import Finding, Target

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
STYLE = {"error": "red", "warning": "yellow", "info": "blue"}


def _rel(path: str) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return p.as_posix()


def text(findings: Sequence[Finding], targets: Sequence[Target], color: bool) -> str:
    out: list[str] = []
    key = lambda f: (f.env, f.stack)  # noqa: E731
    for (env, stack), group in groupby(sorted(findings, key=key), key=key):
        out.append(click.style(f"{env}/{stack}", bold=True) if color else f"{env}/{stack}")
        for f in group:
            sev = f.severity if not f.suppressed else "suppressed"
            label = click.style(f"{sev:<10}", fg=STYLE.get(sev)) if color else f"{sev:<10}"
            where = f"{_rel(f.file)}:{f.line}"
            src = f" ({_rel(f.source_file)}:{f.source_line})" if f.source_line and f.source_file else ""
            out.append(f"  {f.rule_id} {label} {where}{src}  {f.message}")
            if f.suppressed:
                out.append(f"        reason: {f.suppressed}")
    counts = {s: sum(1 for f in findings if f.severity == s and not f.suppressed)
              for s in ("error", "warning", "info")}
    suppressed = sum(1 for f in findings if f.suppressed)
    summary = (f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} info, "
               f"{suppressed} suppressed in {len(targets)} templates")
    out.append(summary)
    return "\n".join(out) + "\n"


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings], indent=2, sort_keys=True) + "\n"


def sarif(findings: Sequence[Finding]) -> str:
    rules: dict[str, dict[str, object]] = {}
    results = []
    for f in findings:
        rule: dict[str, object] = {"id": f.rule_id,
                                   "shortDescription": {"text": f.rule_title or f.rule_id}}
        if f.rule_url:
            rule["helpUri"] = f.rule_url
        rules.setdefault(f.rule_id, rule)
        locations = []
        if f.source_file and f.source_line:
            # The .j2 is what lives in the repository, so code scanning shows it first.
            locations.append({"physicalLocation": {
                "artifactLocation": {"uri": _rel(f.source_file)},
                "region": {"startLine": f.source_line},
            }})
        locations.append({"physicalLocation": {
            "artifactLocation": {"uri": _rel(f.file)},
            "region": {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)},
        }})
        result: dict[str, object] = {
            "ruleId": f.rule_id,
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.env}/{f.stack}: {f.message}"},
            "locations": locations,
        }
        if f.suppressed:
            result["suppressions"] = [{"kind": "inSource", "justification": f.suppressed}]
        results.append(result)
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "stackgen",
                "version": __version__,
                "informationUri": "https://github.com/aws-cloudformation/cfn-lint",
                "rules": [rules[k] for k in sorted(rules)],
            }},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2) + "\n"


def junit(findings: Sequence[Finding], targets: Sequence[Target]) -> str:
    from xml.sax.saxutils import escape, quoteattr  # pulls in urllib: only when asked

    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>"]
    for t in targets:
        mine = [f for f in findings if f.env == t.env and f.stack == t.stack and not f.suppressed]
        name = f"{t.env}/{t.stack}"
        lines.append(f'  <testsuite name={quoteattr(name)} tests="{max(len(mine), 1)}" '
                     f'failures="{len(mine)}">')
        if not mine:
            lines.append(f'    <testcase classname={quoteattr(name)} name="cfn-lint"/>')
        for f in mine:
            lines.append(f'    <testcase classname={quoteattr(name)} '
                         f'name={quoteattr(f.rule_id + " " + (f.resource or ""))}>')
            lines.append(f'      <failure type={quoteattr(f.severity)} '
                         f'message={quoteattr(f.message)}>{escape(_rel(f.file))}:{f.line}'
                         "</failure>")
            lines.append("    </testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def formatted(fmt: str, findings: Sequence[Finding], targets: Sequence[Target],
              color: bool) -> str:
    """The report in one of the formats `stackgen lint --format` offers."""
    if fmt == "json":
        return as_json(findings)
    if fmt == "sarif":
        return sarif(findings)
    if fmt == "junit":
        return junit(findings, targets)
    return text(findings, targets, color)
