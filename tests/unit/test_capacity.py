"""Issue 10, defect 6: every shipped env can roll out a new revision with its own numbers.

A pure-Python model of ECS placement on EC2 (ECS developer guide, "Amazon ECS task
placement" and "Reserving Amazon ECS Linux container instance memory"): a task
fits on an instance with enough registered cpu and memory left, a free host port
(a static one allows one task per instance in bridge mode) and its constraints met
(distinctInstance: one of the service's tasks per instance). A rolling deployment
keeps ceil(N * minimumHealthyPercent / 100) tasks and runs at most
floor(N * maximumPercent / 100) (ECS API reference, DeploymentConfiguration): to
progress it must place one new task beside the tasks it keeps.

Instances available: the group's MinSize, where it starts, since CPU target tracking
adds none for a pending task; a capacity provider with managed scaling launches
instances for tasks waiting in PROVISIONING, up to MaxSize (ECS developer guide,
"Amazon ECS capacity providers for EC2 workloads").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from generator.capacity import INSTANCE_TYPES, registrable, tasks_per_instance
from generator.config import Environment
from generator.params import load_env
from tests.conftest import ENVS, ROOT


@dataclass(frozen=True)
class Rollout:
    tasks: int  # tasks of the service right after a create
    keep: int  # old tasks a deployment keeps running
    most: int  # tasks a deployment may run at once
    must_fit: int  # tasks that must be placed at once for the deployment to progress
    fits: int  # tasks the env's capacity can hold at once


def per_instance(cfg: Environment) -> int:
    ecs = cfg.ecs
    # The project's one table (generator/capacity.py), the one the forecast and the
    # local endpoint use: registrable memory, not the nominal size.
    kind = INSTANCE_TYPES[cfg.asg.instance_type]
    room = min(kind.cpu_units // ecs.cpu, kind.registrable_mib // ecs.memory_mib)
    static_port = ecs.effective_network_mode in ("bridge", "host") and (
        ecs.container.host_port != 0 or ecs.effective_network_mode == "host")
    distinct = any(c.type == "distinctInstance" for c in ecs.service.placement_constraints)
    if static_port or distinct:
        room = min(room, 1)
    memberof = [c.expression or "" for c in ecs.service.placement_constraints
                if c.type == "memberOf"]
    for expression in memberof:  # the only form the shipped envs use
        assert expression.startswith("attribute:ecs.instance-type =~ ")
        prefix = expression.rsplit(" ", 1)[1].rstrip("*")
        if not cfg.asg.instance_type.startswith(prefix):
            return 0
    return room


def rollout(cfg: Environment) -> Rollout:
    svc = cfg.ecs.service
    # Right after a create: the scaler's minimum with auto scaling, else desired_count.
    n = svc.autoscaling.min_tasks if svc.autoscaling.enabled else svc.desired_count
    keep = math.ceil(n * svc.deployment.min_healthy_percent / 100)
    most = math.floor(n * svc.deployment.max_percent / 100)
    must_fit = max(n, keep + 1)
    if cfg.ecs.fargate:
        return Rollout(n, keep, most, must_fit, fits=most)  # Fargate brings its own capacity
    managed = cfg.asg.scaling.mode == "capacity_provider"
    instances = cfg.asg.max_size if managed else cfg.asg.min_size
    return Rollout(n, keep, most, must_fit, fits=instances * per_instance(cfg))


def can_roll_out(r: Rollout) -> bool:
    return r.most >= r.keep + 1 and r.fits >= r.must_fit


@pytest.mark.parametrize("env", ENVS)
def test_every_shipped_env_can_roll_out_a_new_revision(env: str) -> None:
    cfg = load_env(ROOT / "params", env).config
    r = rollout(cfg)
    assert r.tasks >= 1
    assert can_roll_out(r), (
        f"{env}: a deployment keeps {r.keep} task(s) and must place {r.must_fit} at once, "
        f"but {cfg.asg.instance_type} x the available instances hold {r.fits}")


def test_the_model_refuses_what_ecs_cannot_place() -> None:
    def env(*overrides: str) -> Rollout:
        return rollout(load_env(ROOT / "params", "local", list(overrides)).config)

    # The two cases: static port 80 + distinctInstance on one instance ...
    assert not can_roll_out(env("ecs.service.deployment.min_healthy_percent=100",
                                "ecs.service.deployment.max_percent=200"))
    # ... and two 512 MiB tasks on one t3.micro (904 MiB registrable, estimated).
    assert not can_roll_out(env("ecs.container.host_port=0", "ecs.service.placement_constraints=[]",
                                "ecs.memory_mib=512", "ecs.service.deployment.min_healthy_percent=100",
                                "ecs.service.deployment.max_percent=200"))
    assert can_roll_out(env("ecs.container.host_port=0", "ecs.service.placement_constraints=[]",
                            "ecs.memory_mib=384", "ecs.service.deployment.min_healthy_percent=100",
                            "ecs.service.deployment.max_percent=200"))
    # A task larger than the instance never fits, whatever the deployment settings.
    assert not can_roll_out(env("ecs.memory_mib=1024"))
    # max_percent too small to start anything beside the tasks kept.
    assert not can_roll_out(env("ecs.service.deployment.min_healthy_percent=100",
                                "ecs.service.deployment.max_percent=100"))


def test_registrable_memory_follows_the_documented_m4_large_figure() -> None:
    assert registrable("m4.large") == (2048, 7985)
    assert tasks_per_instance("t3.small", 256, 512) == 3
    assert tasks_per_instance("t3.small", 256, 512, one_only=True) == 1
    assert tasks_per_instance("x9.huge", 256, 512) is None
    assert not math.isnan(float(tasks_per_instance("t3.micro", 256, 512) or 0))

