"""Verifying a service after a deploy (generator/ecs/verify.py): steady state, failed
rollouts, healthy targets."""

from __future__ import annotations

import http.client
from typing import Any

import pytest
from botocore.stub import Stubber

from generator.config import Verify
from generator.ecs.verify import NotSteady, is_local, verify, wait_steady
from tests.helpers.ecs_responses import (
    CLUSTER,
    SERVICE,
    TG_ARN,
    _client,
    _service,
)

# --- item 5: verified after deploy ---------------------------------------------------


def _health(*states: str) -> dict[str, Any]:
    return {"TargetHealthDescriptions": [
        {"Target": {"Id": f"i-0{n}abcdef0123456", "Port": 32768 + n},
         "HealthCheckPort": str(32768 + n), "TargetHealth": {"State": s}}
        for n, s in enumerate(states)]}


def test_deploy_waits_until_running_equals_desired_and_targets_are_healthy() -> None:
    ecs, elbv2 = _client("ecs"), _client("elbv2")
    out: list[str] = []
    with Stubber(ecs) as s_ecs, Stubber(elbv2) as s_elb:
        s_ecs.add_response("describe_services", {"services": [_service(
            "IN_PROGRESS", running=0, load_balancers=True)]}, None)
        s_elb.add_response("describe_target_health", _health("initial"),
                           {"TargetGroupArn": TG_ARN})
        s_ecs.add_response("describe_services", {"services": [_service(
            "COMPLETED", running=1, load_balancers=True)]}, None)
        s_elb.add_response("describe_target_health", _health("healthy"),
                           {"TargetGroupArn": TG_ARN})
        checks = wait_steady(ecs, elbv2, CLUSTER, SERVICE, 60, out.append,
                             sleep=lambda _: None)
    assert checks == ["1 of 1 tasks running", "deployment COMPLETED",
                      "1 of 1 targets healthy in kubenews-dev-app"]
    assert out == ["verify: service kubenews-dev-ecs-Service-7QX2LQ5T0JZ1: waiting (0 of 1 "
                   "tasks running; deployment IN_PROGRESS; 0 of 1 targets healthy in "
                   "kubenews-dev-app)"]


def test_a_failed_rollout_fails_verification_at_once() -> None:
    ecs, elbv2 = _client("ecs"), _client("elbv2")
    with Stubber(ecs) as s_ecs:
        s_ecs.add_response("describe_services", {"services": [_service("FAILED")]}, None)
        with pytest.raises(NotSteady, match="circuit breaker"):
            wait_steady(ecs, elbv2, CLUSTER, SERVICE, 60, lambda _: None,
                        sleep=lambda _: None)


def test_a_service_that_never_gets_steady_fails_at_the_deadline() -> None:
    ecs, elbv2 = _client("ecs"), _client("elbv2")
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s
    with Stubber(ecs) as s_ecs:
        for _ in range(3):
            s_ecs.add_response("describe_services", {"services": [_service(
                "IN_PROGRESS")]}, None)
        with pytest.raises(NotSteady, match="not steady after 20 s: 0 of 1 tasks running"):
            wait_steady(ecs, elbv2, CLUSTER, SERVICE, 20, lambda _: None, poll=10,
                        clock=lambda: now[0], sleep=sleep)


def test_the_probe_is_skipped_when_aws_calls_go_to_loopback() -> None:
    def connect(host: str, timeout: float) -> http.client.HTTPConnection:
        raise AssertionError("no probe may run against the local endpoint")

    checked = verify(None, None, CLUSTER, SERVICE, "kubenews.stackgen.test",
                     Verify(wait_steady=False, probe_path="/"), "http://127.0.0.1:4599",
                     lambda _: None, connect=connect)
    assert checked.checks == []
    assert any("skipped" in n and "127.0.0.1:4599" in n for n in checked.notes)
    assert is_local("http://localhost:4599") and is_local("http://[::1]:4599")
    assert not is_local(None) and not is_local("https://ecs.us-east-1.amazonaws.com")

