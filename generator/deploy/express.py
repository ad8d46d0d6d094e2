"""Which stacks of an express env run in express mode.

Express mode completes a stack once its resources' configuration is applied, not once
they are ready (CloudFormation user guide, "Deploy CloudFormation stacks faster with
express mode"), and CloudFormation waits for a resource's readiness only inside its own
stack. A stack whose outputs feed a stack that needs the resource *ready* therefore runs
in standard mode, so the downstream stack starts only once it is:

- cert: the certificate must be ISSUED before the alb stack's HTTPS listener uses it
  (a listener refuses a certificate that is not: ELBv2 API reference, CreateListener,
  UnsupportedCertificate);
- rds: the DB must be available before the ecs stack's tasks (and its migration) connect
  to its endpoint (RDS user guide, "DB instance status": available).

Everything else may run in express mode: its readers wait for what they need themselves
(a service's steady state, instances registering).
"""

from __future__ import annotations

from generator.render import Rendered

NEEDS_READINESS: dict[str, str] = {
    "cert": "the certificate must be issued before the load balancer's listener uses it",
    "rds": "the DB must be available before the tasks and the migration connect to it",
}


def standard_stacks(rendered: Rendered) -> dict[str, str]:
    """Stacks of an express env kept in standard mode, with the reason; {} when the env is
    not express."""
    if rendered.env.config.deployment_mode != "express":
        return {}
    graph = rendered.graph
    return {s: f"{why} ({', '.join(sorted(graph.downstream(s)))} read its outputs)"
            for s, why in NEEDS_READINESS.items()
            if s in graph.stacks and graph.downstream(s)}


def runs_express(rendered: Rendered, stack: str) -> bool:
    """Whether ``stack`` of ``rendered`` (the env's stacks, also for the nested root,
    which is not among them and holds them all) runs in express mode."""
    if rendered.env.config.deployment_mode != "express":
        return False
    kept = standard_stacks(rendered)
    if stack not in rendered.graph.stacks:  # the nested root: its children are one operation
        return not kept
    return stack not in kept
