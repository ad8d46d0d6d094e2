"""After deploy: is the service really serving? Steady (running == desired, the primary
deployment COMPLETED), its targets healthy, and optionally the domain's health path.

CloudFormation already waits for a service to stabilize on create and update, but
scaling, a circuit-breaker rollback or a target that fails its health checks after
that are only seen here. The probe only ever goes to the env's own domain over HTTPS.
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msgspec

from generator.config import Verify
from generator.ecs.ops import aws_call, describe_service
from generator.errors import StackgenError

POLL_SECONDS = 10.0  # DescribeServices/DescribeTargetHealth between checks


class NotSteady(StackgenError):
    """The service did not reach a steady state, or the probe got the wrong answer."""

    exit_code = 1


class Checked(msgspec.Struct):
    """What verification looked at, for the summary."""

    checks: list[str] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)


def _state(ecs: Any, elbv2: Any, cluster: str, service: str) -> tuple[list[str], list[str]]:
    """(what holds, what does not) right now."""
    svc = describe_service(ecs, cluster, service)
    good: list[str] = []
    bad: list[str] = []
    running, desired = svc.get("runningCount", 0), svc.get("desiredCount", 0)
    (good if running == desired else bad).append(f"{running} of {desired} tasks running")
    primary = next((d for d in svc.get("deployments") or [] if d.get("status") == "PRIMARY"), None)
    if primary is not None:
        # rolloutState is set for the ECS deployment controller (ECS API reference,
        # Deployment); FAILED means the circuit breaker stopped it.
        rollout = primary.get("rolloutState")
        if rollout == "FAILED":
            raise NotSteady(f"service {service}: deployment {primary.get('id')} FAILED: "
                            f"{primary.get('rolloutStateReason', '')}")
        if rollout is not None:
            (good if rollout == "COMPLETED" else bad).append(f"deployment {rollout}")
        others = [d for d in svc.get("deployments") or [] if d is not primary]
        if others:
            bad.append(f"{len(others)} older deployment(s) still draining")
    for lb in svc.get("loadBalancers") or []:
        arn = lb.get("targetGroupArn")
        if not arn:
            continue
        health = aws_call("elbv2 DescribeTargetHealth", elbv2.describe_target_health,
                          TargetGroupArn=arn).get("TargetHealthDescriptions") or []
        if not health:
            continue  # nothing registered to report on (the API reports no targets)
        states = [h.get("TargetHealth", {}).get("State", "unknown") for h in health]
        healthy = states.count("healthy")
        (good if healthy == len(states) else bad).append(
            f"{healthy} of {len(states)} targets healthy in {arn.rsplit('/', 2)[-2]}")
    return good, bad


def wait_steady(ecs: Any, elbv2: Any, cluster: str, service: str, timeout: float,
                out: Callable[[str], None], poll: float = POLL_SECONDS,
                clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Poll until everything holds; the checks that held, or NotSteady at the deadline."""
    deadline = clock() + timeout
    last: list[str] = []
    while True:
        good, bad = _state(ecs, elbv2, cluster, service)
        if not bad:
            return good
        if bad != last:
            out(f"verify: service {service}: waiting ({'; '.join(bad)})")
            last = bad
        if clock() >= deadline:
            raise NotSteady(f"service {service} not steady after {timeout:.0f} s: "
                            f"{'; '.join(bad)}")
        sleep(poll)


def is_local(endpoint_url: str | None) -> bool:
    """Whether AWS calls go to an endpoint on this machine: then the env's domain is
    served by nothing (the local endpoint answers API calls only)."""
    if not endpoint_url:
        return False
    host = urlsplit(endpoint_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def probe(domain: str, conf: Verify,
          connect: Callable[[str, float], http.client.HTTPConnection] | None = None) -> str:
    """GET https://<domain><path> once; the check, or NotSteady on another status."""
    assert conf.probe_path is not None
    make = connect or (lambda host, timeout: http.client.HTTPSConnection(
        host, timeout=timeout, context=ssl.create_default_context()))
    conn = make(domain, conf.probe_timeout_seconds)
    url = f"https://{domain}{conf.probe_path}"
    try:
        conn.request("GET", conf.probe_path, headers={"User-Agent": "stackgen-verify"})
        status = conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        raise NotSteady(f"probe {url}: {exc}") from None
    finally:
        conn.close()
    if status != conf.probe_status:
        raise NotSteady(f"probe {url}: status {status}, expected {conf.probe_status}")
    return f"GET {url} answered {status}"


def verify(ecs: Any, elbv2: Any, cluster: str, service: str, domain: str, conf: Verify,
           endpoint_url: str | None, out: Callable[[str], None],
           connect: Callable[[str, float], http.client.HTTPConnection] | None = None,
           sleep: Callable[[float], None] = time.sleep) -> Checked:
    checked = Checked()
    if conf.wait_steady:
        checked.checks += [f"service {service}: {c}" for c in wait_steady(
            ecs, elbv2, cluster, service, conf.steady_timeout_seconds, out, sleep=sleep)]
    else:
        checked.notes.append("steady check off (ecs.service.verify.wait_steady: false)")
    if conf.probe_path is None:
        return checked
    if is_local(endpoint_url):
        # Nothing serves the domain when the API is on loopback; the probe would leave
        # the machine (DNS, the internet) for nothing, so it does not run.
        checked.notes.append(f"probe https://{domain}{conf.probe_path} skipped: AWS calls go "
                             f"to {endpoint_url}, which serves no domain")
        return checked
    checked.checks.append(probe(domain, conf, connect))
    return checked
