"""A plan as a person reads it: in the terminal, and as Markdown for a pull request."""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.plan import (
    AFTER_UPSTREAM_APPLY,
    AFTER_UPSTREAM_CREATE,
    CREATE,
    RECREATE,
    UNCHANGED,
    UPDATE,
    Plan,
    StackPlan,
)
from generator.deploy.ui import ACTION_LOOKS, DEFAULT_LOOK, Console

MAX_VALUE = 60


def short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def risks(plan: StackPlan) -> list[str]:
    """One-line risk marks, most serious first."""
    marks = []
    resources = plan.all_resources()
    for r in resources:
        if r.endangers_data:
            verb = "removes" if r.action == "Remove" else "replaces"
            marks.append(f"{verb} {r.logical_id} ({r.resource_type}): data at risk")
    for r in resources:
        if r.replaces and not r.endangers_data:
            marks.append(f"replaces {r.logical_id}")
    marks += plan.all_findings()
    if plan.widened_access or any(c.widened_access for c in plan.nested):
        marks.append("widens access")
    if plan.ripple:
        marks.append("reads changed upstream outputs")
    return marks


def show_review(console: Console, plan: StackPlan, diff: bool = False) -> None:
    head = f"{plan.stack} ({plan.stack_name}): {plan.state}"
    if plan.waits_for:
        head += f" (waits for {', '.join(plan.waits_for)})"
    if plan.resources:
        head += f", {len(plan.resources)} resource changes"
    console.line(console.style(head, bold=True))
    for mark in risks(plan):
        console.line("  " + console.style(f"! {mark}", "red" if "data" in mark else "yellow"))
    if plan.parameters:
        console.line("  parameters:")
        for p in plan.parameters:
            console.line(f"    {p.key}: {short(p.old) if p.old is not None else '(none)'} → "
                         f"{short(p.new) if p.new is not None else '(removed)'}")
    if plan.tags:
        console.line("  stack tags:")
        for t in plan.tags:
            console.line(f"    {t.key}: {t.old if t.old is not None else '(none)'} → "
                         f"{t.new if t.new is not None else '(removed)'}")
    if plan.resources:
        rows = []
        for r in plan.resources:
            look = ACTION_LOOKS.get(r.action, DEFAULT_LOOK)
            rows.append([console.style(look.symbol, look.colour), r.action, r.logical_id,
                         r.resource_type, r.physical_id, r.risk])
        console.table(["", "action", "logical id", "type", "physical id", "replacement"], rows)
        changed = [(r.logical_id, p) for r in plan.resources for p in r.properties]
        if changed:
            console.line("  changed properties:")
        for logical_id, prop in changed:
            console.line(f"    {logical_id}.{prop.name}: {short(prop.before)} → "
                         f"{short(prop.after)}")
    for item in plan.widened_access:
        console.line(f"  widened access: {item}")
    for item in plan.ripple:
        console.line(f"  reads from upstream: {item}")
    if diff and plan.template_diff:
        console.line("  template diff:")
        for line in plan.template_diff.splitlines():
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            console.line("    " + console.style(line, colour))
    for child in plan.nested:
        console.line(f"  nested stack {child.stack}:")
        show_review(console, child, diff=diff)


def show_plan(console: Console, plan: Plan, diff: bool) -> None:
    for stack in plan.stacks:
        if stack.state == UNCHANGED:
            console.line(f"{console.status('UNCHANGED')} {stack.stack}: no changes")
            continue
        show_review(console, stack, diff=diff)
    changing = [s for s in plan.stacks if s.state != UNCHANGED]
    show_forecast(console, plan)
    console.line()
    console.line(f"plan for env '{plan.env}': {len(changing)} of {len(plan.stacks)} stacks "
                 "change" + ("" if changing else "; nothing to apply"))


FORECAST_COLOUR = {"error": "red", "warning": "yellow", "info": "blue"}


def forecast_summary(plan: Plan) -> str:
    notes = plan.forecast or []
    counts = [f"{sum(1 for n in notes if n.severity == s)} {s}" for s in ("error", "warning",
                                                                          "info")]
    return ("forecast: " + ", ".join(counts) +
            ("; `apply` refuses the errors unless --no-forecast"
             if any(n.severity == "error" for n in notes) else ""))


def show_forecast(console: Console, plan: Plan) -> None:
    """What `stackgen forecast` predicts (issue 12); nothing when it did not run."""
    if plan.forecast is None:
        return
    console.line()
    console.line(console.style(forecast_summary(plan), bold=True))
    for n in plan.forecast:
        console.line(f"  {console.style(n.severity, FORECAST_COLOUR.get(n.severity))} {n.id} "
                     f"{n.stack}/{n.resource}: {n.message}")
        console.line(f"    fix: {n.fix}")


SYMBOL = {CREATE: "🆕", UPDATE: "✏️", UNCHANGED: "✅",
          AFTER_UPSTREAM_CREATE: "⏳", AFTER_UPSTREAM_APPLY: "⏳", RECREATE: "🔁"}


def _cell(value: Any) -> str:
    return short(value).replace("|", "\\|") if value is not None else "—"


def markdown(plan: Plan) -> str:
    """A pull-request comment: a summary table, then one collapsible section per stack."""
    out = [f"## stackgen plan: env `{plan.env}`", "",
           "| stack | change | resources | risk |", "|---|---|---|---|"]
    for s in plan.stacks:
        marks = risks(s)
        risk = ("⚠️ " + "; ".join(marks)) if marks else ""
        waits = f" (waits for {', '.join(s.waits_for)})" if s.waits_for else ""
        out.append(f"| `{s.stack}` | {SYMBOL.get(s.state, '')} {s.state}{waits} | "
                   f"{len(s.resources) or ''} | {risk} |")
    out += _forecast_markdown(plan)
    for s in plan.stacks:
        if s.state == UNCHANGED:
            continue
        marks = risks(s)
        summary = f"{'⚠️ ' if marks else ''}<b>{s.stack}</b> ({s.stack_name}): {s.state}"
        out += ["", "<details>", f"<summary>{summary}</summary>", ""]
        for mark in marks:
            out.append(f"- ⚠️ {mark}")
        if s.waits_for:
            out.append(f"- waits for {', '.join(f'`{w}`' for w in s.waits_for)}: its "
                       "change set is made once they are applied")
        if marks or s.waits_for:
            out.append("")
        if s.parameters:
            out += ["**Parameters**", "", "| parameter | before | after |", "|---|---|---|"]
            out += [f"| `{p.key}` | {_cell(p.old)} | {_cell(p.new)} |" for p in s.parameters]
            out.append("")
        if s.tags:
            out += ["**Stack tags**", "", "| tag | before | after |", "|---|---|---|"]
            out += [f"| `{t.key}` | {_cell(t.old)} | {_cell(t.new)} |" for t in s.tags]
            out.append("")
        if s.resources:
            out += ["**Resources**", "",
                    "| action | logical id | type | physical id | replacement |",
                    "|---|---|---|---|---|"]
            for r in s.resources:
                out.append(f"| {r.action} | `{r.logical_id}` | {r.resource_type} | "
                           f"{r.physical_id or '—'} | {r.risk or '—'} |")
                out += [f"| | ↳ `{p.name}` | {_cell(p.before)} → {_cell(p.after)} | | |"
                        for p in r.properties]
            out.append("")
        if s.widened_access:
            out += ["**Widens access**", ""] + [f"- {w}" for w in s.widened_access] + [""]
        if s.ripple:
            out += ["**Reads changed upstream outputs**", ""] + [f"- {r}" for r in s.ripple]
            out.append("")
        if s.template_diff:
            out += ["**Template diff**", "", "```diff", s.template_diff.rstrip("\n"), "```", ""]
        out.append("</details>")
    return "\n".join(out) + "\n"


FORECAST_ICON = {"error": "⛔", "warning": "⚠️", "info": "ℹ️"}


def _forecast_markdown(plan: Plan) -> list[str]:
    if plan.forecast is None:  # not run (--no-forecast, or a plan made before it existed)
        return []
    out = ["", f"**{forecast_summary(plan)}**"]
    if plan.forecast:
        out += ["", "| | check | where | finding | fix |", "|---|---|---|---|---|"]
        out += [f"| {FORECAST_ICON.get(n.severity, '')} {n.severity} | {n.id} | "
                f"`{n.stack}/{n.resource}` | {_pipe(n.message)} | {_pipe(n.fix)} |"
                for n in plan.forecast]
    return out


def _pipe(text: str) -> str:
    return text.replace("|", "\\|")
