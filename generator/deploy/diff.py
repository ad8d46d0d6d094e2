"""`stackgen diff`: what deploying would change in templates and parameters, without
creating anything."""

from __future__ import annotations

from generator.aws.cfn import CloudFormation
from generator.aws.status import Outcome
from generator.deploy.stack_work import DeployOptions, StackWork
from generator.references import Lookups
from generator.render import Rendered
from generator.review.plan import param_changes, tag_changes, template_diff
from generator.review.plan_report import short
from generator.ui import Console


def diff_env(rendered: Rendered, cfn: CloudFormation, lookups: Lookups, console: Console,
             stacks: frozenset[str]) -> int:
    """Show each selected stack's differences; the number of stacks that differ (one
    not deployed, or waiting for one that is not, differs)."""
    differ = 0
    work = StackWork(rendered, cfn, lookups, console, lambda q: False, DeployOptions(stacks))
    deployed = work.preflight(require_upstream=False)
    for stack in work.selected():
        name = rendered.stacks[stack].stack_name
        info = deployed.get(stack)
        if info is None:
            console.line(console.style(f"{stack} ({name}): not deployed; would be created",
                                       bold=True))
            differ += 1
            continue
        missing = [u for u in rendered.graph.stacks[stack].upstream if u not in work.outputs]
        if missing:
            console.line(f"{stack} ({name}): waits for {', '.join(missing)}")
            differ += 1
            continue
        params = work.prepare_params(stack)
        changes = param_changes(info.parameters, params, set())
        tags = tag_changes(info.tags, work.tags(stack))
        text = template_diff(cfn.template_body(name), rendered.stacks[stack].template)
        if not changes and not tags and not text:
            console.line(f"{console.status(Outcome.UNCHANGED)} {stack}: no differences")
            continue
        differ += 1
        console.line(console.style(f"{stack} ({name})", bold=True))
        for p in changes:
            console.line(f"  {p.key}: {short(p.old)} → {short(p.new)}")
        for t in tags:
            console.line(f"  tag {t.key}: {t.old if t.old is not None else '(none)'} → "
                         f"{t.new if t.new is not None else '(removed)'}")
        for line in text.splitlines():
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            console.line("  " + console.style(line, colour))
    return differ
