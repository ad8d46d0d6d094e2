"""AWS behaviour the local endpoint emulates where moto does not fail as AWS fails.

Loaded, like ``compat``, only into the endpoint's own process and always on. Each module
models one documented behaviour (named in its docstring) and has a test in
tests/local/test_emulation.py that shows it on our endpoint and missing on bare moto.
"""

from __future__ import annotations

from generator.local.emulation import (
    adopt,
    dns,
    drift_revert,
    ecs,
    events,
    hooks,
    iam,
    in_use,
    latency,
    rds_engine,
    refactor,
    stacks,
    validation,
)


def apply() -> None:
    stacks.apply()
    in_use.apply()  # after stacks: its delete raises into their DELETE_FAILED
    latency.apply()  # after stacks: it spreads their outcome over time
    ecs.apply()
    dns.apply()
    rds_engine.apply()
    events.apply()
    validation.apply()
    iam.apply()
    adopt.apply()  # after validation: its change sets' adopted resources are known
    drift_revert.apply()  # after adopt: it reads the request's DeploymentMode
    refactor.apply()
    hooks.apply()  # last: it sees the change set as the others left it
