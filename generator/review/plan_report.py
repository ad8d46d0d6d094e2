"""A plan as a person reads it: in the terminal, and as Markdown for a pull request."""

from __future__ import annotations

import json
from typing import Any

from generator.aws.status import Outcome, PlanState
from generator.review.cost import EnvCost, money, signed
from generator.review.plan import Plan, StackPlan
from generator.review.security import ADDED, SecurityTables
from generator.ui import ACTION_LOOKS, DEFAULT_LOOK, Console

MAX_VALUE = 60
DIGEST = "@sha256:"


def short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if DIGEST in text:
        # An image by digest is reviewed by its digest: never cut it off (issue 13).
        return text
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def risks(plan: StackPlan) -> list[str]:
    """One-line risk marks, most serious first."""
    marks = [f"validation FAIL: {n.logical_id or plan.stack} cannot be deployed as is"
             for n in plan.validation if n.blocks]
    resources = plan.all_resources()
    for r in resources:
        if r.endangers_data:
            verb = "removes" if r.action == "Remove" else "replaces"
            marks.append(f"{verb} {r.logical_id} ({r.resource_type}): data at risk")
    for r in resources:
        if r.replaces and not r.endangers_data:
            marks.append(f"replaces {r.logical_id}")
    marks += plan.all_findings()
    if plan.broadens:
        marks.append("widens access")
    drifted = [r.logical_id for r in resources if r.drift]
    if drifted:
        marks.append(f"overwrites changes made by hand to {', '.join(drifted)}")
    if plan.ripple:
        marks.append("reads changed upstream outputs")
    if plan.protection == "off":
        marks.append(plan.protection_note)
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
    for r in plan.resources:
        for item in r.drift:
            console.line(console.style(f"  drifted {r.logical_id}: {item} (the apply "
                                       "overwrites it)", "yellow"))
        for item in r.validation:
            console.line(console.style(f"  validation {r.logical_id}: {item}",
                                       "red" if item.startswith("FAIL") else "yellow"))
    listed = {r.logical_id for r in plan.resources}
    for n in plan.validation:
        if n.logical_id not in listed:
            console.line(console.style(f"  validation {n.logical_id or plan.stack}: {n.line()}",
                                       "red" if n.blocks else "yellow"))
    show_security(console, plan.security)
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


def _iam_rows(tables: SecurityTables) -> list[list[str]]:
    rows = [[r.change, r.resource, r.kind, r.effect, ", ".join(r.actions), r.principal,
             ", ".join(r.resources), r.condition] for r in tables.iam]
    rows += [[m.change, m.resource, "managed policy", "Allow" if m.change == ADDED else "",
              m.policy, "", "", ""] for m in tables.managed_policies]
    return rows


def _sg_rows(tables: SecurityTables) -> list[list[str]]:
    return [[r.change, r.group, r.direction, r.protocol, r.ports, r.peer, r.description]
            for r in tables.security_groups]


IAM_HEADERS = ["", "resource", "kind", "effect", "actions", "principal", "resources",
               "condition"]
SG_HEADERS = ["", "group", "direction", "protocol", "ports", "peer", "description"]


def show_security(console: Console, tables: SecurityTables) -> None:
    """The IAM and security group tables; a broadening row in red, a narrowing one green."""
    def mark(row: list[str], broadens: bool) -> list[str]:
        return [console.style(row[0], "red" if broadens else "green"), *row[1:]]

    if tables.iam or tables.managed_policies:
        console.line("  IAM changes" + (" (broadens access)" if tables.broadens else "") + ":")
        flags = [r.broadens for r in tables.iam] + [m.broadens for m in tables.managed_policies]
        console.table(IAM_HEADERS, [mark(row, b) for row, b in zip(_iam_rows(tables), flags,
                                                                    strict=True)])
    if tables.security_groups:
        console.line("  security group changes:")
        console.table(SG_HEADERS, [mark(row, r.broadens) for row, r in
                                   zip(_sg_rows(tables), tables.security_groups, strict=True)])


def show_cost(console: Console, cost: EnvCost | None) -> None:
    if cost is None:
        return
    console.line()
    if cost.missing:
        console.line(f"monthly cost: {cost.missing}")
        return
    console.line(console.style(f"monthly cost ({cost.currency}): {money(cost.before_usd)} → "
                               f"{money(cost.after_usd)} ({signed(cost.delta)})", bold=True))
    rows = [[s.stack, money(s.before_usd), money(s.after_usd),
             signed(s.after_usd - s.before_usd)] for s in cost.stacks
            if s.before_usd or s.after_usd]
    console.table(["stack", "before", "after", "change"], rows)
    for s in cost.stacks:
        for line in s.lines:
            if line.before != line.after:
                console.line(f"    {s.stack} {line.resource}: {line.before or '—'} → "
                             f"{line.after or '—'} ({signed(line.delta)})")
    usage = [u for s in cost.stacks for u in s.usage]
    if usage:
        console.line(f"  plus usage: {'; '.join(usage)}")
    console.line(f"  prices: {cost.source}, as of {cost.as_of}")


def show_plan(console: Console, plan: Plan, diff: bool) -> None:
    for move in plan.moves:  # executed as a stack refactor before any change set
        console.line(console.style(f"{move} (stack refactor: kept, not replaced)", "cyan"))
    for stack in plan.stacks:
        if stack.state == PlanState.UNCHANGED:
            console.line(f"{console.status(Outcome.UNCHANGED)} {stack.stack}: no changes"
                         + (f"; {console.style(stack.protection_note, 'yellow')}"
                            if stack.protection else ""))
            continue
        show_review(console, stack, diff=diff)
        if stack.protection == "on":  # "off" is among the review's risk marks
            console.line(f"  {stack.protection_note}")
    changing = [s for s in plan.stacks if s.state != PlanState.UNCHANGED]
    show_forecast(console, plan)
    show_cost(console, plan.cost)
    console.line()
    console.line(f"plan for env '{plan.env}': {len(changing)} of {len(plan.stacks)} stacks "
                 "change" + ("" if changing or protection_changes(plan)
                             else "; nothing to apply") + protection_summary(plan))
    if plan.deployment_mode == "express":
        console.line(EXPRESS_NOTE)
        for name, why in plan.standard_stacks.items():
            console.line(f"  {name}: standard mode: {why}")


def protection_changes(plan: Plan) -> list[StackPlan]:
    return [s for s in plan.stacks if s.protection]


def protection_summary(plan: Plan) -> str:
    """"; termination protection turns off for 3 stacks (a, b, c)", or "": a change the
    change sets do not hold, so it would otherwise pass under "no changes"."""
    by_way: dict[str, list[str]] = {}
    for s in protection_changes(plan):
        by_way.setdefault(s.protection, []).append(s.stack)
    return "".join(f"; termination protection turns {way} for {len(stacks)} stack"
                   f"{'s' if len(stacks) > 1 else ''} ({', '.join(stacks)})"
                   for way, stacks in sorted(by_way.items()))


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


SYMBOL = {PlanState.CREATE: "🆕", PlanState.UPDATE: "✏️", PlanState.UNCHANGED: "✅",
          PlanState.AFTER_UPSTREAM_CREATE: "⏳", PlanState.AFTER_UPSTREAM_APPLY: "⏳",
          PlanState.RECREATE: "🔁"}


def _cell(value: Any) -> str:
    return short(value).replace("|", "\\|") if value is not None else "—"


EXPRESS_NOTE = ("deployment mode: express: each stack completes once its resources' "
                "configuration is applied; they finish becoming ready after it")


def markdown(plan: Plan, unit: str | None = None) -> str:
    """A pull-request comment: a summary table, then one collapsible section per stack.
    ``unit``: the env at one of its targets (env@account/region), in the heading."""
    out = [f"## stackgen plan: env `{unit or plan.env}`", ""]
    if plan.deployment_mode == "express":
        out += [f"> {EXPRESS_NOTE}", *(f"> - {stack}: standard mode: {why}"
                                      for stack, why in plan.standard_stacks.items()), ""]
    out += ["| stack | change | resources | risk |", "|---|---|---|---|"]
    for s in plan.stacks:
        marks = risks(s)
        risk = ("⚠️ " + "; ".join(marks)) if marks else ""
        waits = f" (waits for {', '.join(s.waits_for)})" if s.waits_for else ""
        out.append(f"| `{s.stack}` | {SYMBOL.get(s.state, '')} {s.state}{waits} | "
                   f"{len(s.resources) or ''} | {risk} |")
    out += _forecast_markdown(plan)
    out += _markdown_cost(plan.cost)
    if plan.picture:
        out += ["", "<details open>", "<summary>Picture of the change</summary>", "",
                "```mermaid", plan.picture.rstrip("\n"), "```", "", "</details>"]
    for s in plan.stacks:
        if s.state == PlanState.UNCHANGED:
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
        drifted = [(r.logical_id, d) for r in s.resources for d in r.drift]
        if drifted:
            out += ["**Changed by hand since the deploy (the apply overwrites it)**", ""]
            out += [f"- `{name}`: {_cell(d)}" for name, d in drifted] + [""]
        if s.validation:
            out += ["**CloudFormation pre-deployment validation**", ""]
            out += [f"- {'⛔' if n.blocks else '⚠️'} `{n.logical_id or s.stack}`: "
                    f"{_cell(n.line())}" for n in s.validation] + [""]
        out += _markdown_security(s.security)
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
def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(c) if c else "" for c in row) + " |" for row in rows]
    return [*out, ""]


def _markdown_security(tables: SecurityTables) -> list[str]:
    out: list[str] = []
    if tables.iam or tables.managed_policies:
        head = "**IAM statements**" + (" ⚠️ broadens access" if tables.broadens else "")
        rows = [["➕" if r[0] == ADDED else "➖", *r[1:]] for r in _iam_rows(tables)]
        out += [head, "", *_table(IAM_HEADERS, rows)]
    if tables.security_groups:
        rows = [["➕" if r[0] == ADDED else "➖", *r[1:]] for r in _sg_rows(tables)]
        out += ["**Security group rules**", "", *_table(SG_HEADERS, rows)]
    return out


def _markdown_cost(cost: EnvCost | None) -> list[str]:
    if cost is None:
        return []
    if cost.missing:
        return ["", f"**Monthly cost**: {cost.missing}"]
    out = ["", f"**Monthly cost** ({cost.currency}): {money(cost.before_usd)} → "
           f"{money(cost.after_usd)} ({signed(cost.delta)})", "",
           "| stack | before | after | change |", "|---|---|---|---|"]
    out += [f"| `{s.stack}` | {money(s.before_usd)} | {money(s.after_usd)} | "
            f"{signed(s.after_usd - s.before_usd)} |" for s in cost.stacks
            if s.before_usd or s.after_usd]
    usage = [u for s in cost.stacks for u in s.usage]
    out += ["", f"Prices: {cost.source}, as of {cost.as_of}." +
            (f" Plus usage: {'; '.join(usage)}." if usage else "")]
    return out
