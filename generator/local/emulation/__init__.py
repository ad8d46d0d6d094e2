"""AWS behaviour the local endpoint emulates where moto does not fail as AWS fails.

Loaded, like ``compat``, only into the endpoint's own process and always on. Each module
models one documented behaviour (named in its docstring) and has a test in
tests/test_local_emulation.py that shows it on our endpoint and missing on bare moto.
"""

from __future__ import annotations

from generator.local.emulation import (
    dns,
    ecs,
    events,
    iam,
    in_use,
    latency,
    rds_engine,
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
