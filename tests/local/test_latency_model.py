"""The local endpoint's latency model (issue 16): with ``--latency real`` a stack and its
resources read *_IN_PROGRESS for their modelled time (generator/latency.py / time scale),
resources start when those they depend on are done, then COMPLETE (or the failure and the
rollback); bare moto finishes inside the request. The tests move the endpoint's clock on
(tests/helpers/endpoint_clock.py) to a moment just before and just after each boundary,
measured from the operation's own first event, so AWS's figures cost no waiting.
"""

from __future__ import annotations

import http.client
import json
from datetime import timedelta
from typing import Any

import pytest

from generator.latency import latency
from generator.local.manager import Endpoint
from generator.local.server import LATENCY_PATH
from tests.conftest import LATENCY_SCALE, clients, reset
from tests.helpers.endpoint_clock import EndpointClock, post_clock
from tests.helpers.latency_model import TEMPLATE, execute, opened, stack

SCALE = LATENCY_SCALE
# How close to a boundary a test looks: before it by this (real time passes between the
# clock's move and the call that looks, a few milliseconds on a quiet box), after it by
# AFTER (the clock only moves on, so any margin holds).
BEFORE = 1.0
AFTER = 0.1


def modelled(kind: str, operation: str = "CREATE") -> float:
    return latency(kind).of(operation) / SCALE  # type: ignore[arg-type]


def resources(cfn: Any, name: str) -> dict[str, str]:
    rows = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["ResourceStatus"] for r in rows}


def _at(clock: EndpointClock, start: Any, seconds: float) -> None:
    """Move the endpoint's clock to ``seconds`` after ``start``."""
    clock.advance(max(0.0, (start + timedelta(seconds=seconds) - clock.now()).total_seconds()))


def test_create_is_in_progress_until_the_modelled_time(
        slow: Any, endpoint_clock: EndpointClock) -> None:
    cfn = slow.cloudformation
    execute(cfn, "lat", TEMPLATE)
    start = opened(cfn, "lat", "CREATE_IN_PROGRESS")
    first = stack(cfn, "lat")
    assert first["StackStatus"] == "CREATE_IN_PROGRESS"
    assert "Outputs" not in first  # AWS shows outputs once the stack is complete
    # The VPC and the cluster start at once; the subnet waits for the VPC (Ref).
    starting = {"Vpc": "CREATE_IN_PROGRESS", "Cluster": "CREATE_IN_PROGRESS"}
    assert resources(cfn, "lat") == starting
    vpc = modelled("AWS::EC2::VPC")
    _at(endpoint_clock, start, vpc - BEFORE)
    assert resources(cfn, "lat") == starting
    _at(endpoint_clock, start, vpc + AFTER)
    assert resources(cfn, "lat") == {"Vpc": "CREATE_COMPLETE", "Cluster": "CREATE_COMPLETE",
                                     "Subnet": "CREATE_IN_PROGRESS"}
    assert stack(cfn, "lat")["StackStatus"] == "CREATE_IN_PROGRESS"
    end = vpc + modelled("AWS::EC2::Subnet")
    _at(endpoint_clock, start, end - BEFORE)
    assert stack(cfn, "lat")["StackStatus"] == "CREATE_IN_PROGRESS"
    assert "Outputs" not in stack(cfn, "lat")
    _at(endpoint_clock, start, end + AFTER)
    done = stack(cfn, "lat")
    assert done["StackStatus"] == "CREATE_COMPLETE"
    assert [o["OutputKey"] for o in done["Outputs"]] == ["SubnetId"]
    events = cfn.describe_stack_events(StackName="lat")["StackEvents"][::-1]
    story = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events]
    assert story[:2] == [("lat", "REVIEW_IN_PROGRESS"), ("lat", "CREATE_IN_PROGRESS")]
    assert story[-1] == ("lat", "CREATE_COMPLETE")
    assert story.index(("Vpc", "CREATE_COMPLETE")) < story.index(("Subnet", "CREATE_IN_PROGRESS"))
    stamps = {(e["LogicalResourceId"], e["ResourceStatus"]): e["Timestamp"] for e in events}
    took = (stamps[("lat", "CREATE_COMPLETE")] - stamps[("lat", "CREATE_IN_PROGRESS")])
    assert took.total_seconds() == pytest.approx(end, abs=0.05)


def test_events_appear_when_their_time_comes(slow: Any) -> None:
    cfn = slow.cloudformation
    execute(cfn, "lat", TEMPLATE)
    seen = [(e["LogicalResourceId"], e["ResourceStatus"])
            for e in cfn.describe_stack_events(StackName="lat")["StackEvents"]]
    assert ("lat", "CREATE_COMPLETE") not in seen
    assert ("Subnet", "CREATE_IN_PROGRESS") not in seen
    assert ("Vpc", "CREATE_IN_PROGRESS") in seen


def _created(cfn: Any, clock: EndpointClock) -> None:
    execute(cfn, "lat", TEMPLATE)
    _at(clock, opened(cfn, "lat", "CREATE_IN_PROGRESS"),
        modelled("AWS::EC2::VPC") + modelled("AWS::EC2::Subnet") + AFTER)
    assert stack(cfn, "lat")["StackStatus"] == "CREATE_COMPLETE"


def test_update_touches_only_changed_resources(
        slow: Any, endpoint_clock: EndpointClock) -> None:
    cfn = slow.cloudformation
    _created(cfn, endpoint_clock)
    changed = json.loads(json.dumps(TEMPLATE))
    del changed["Resources"]["Cluster"]  # removed: deleted in the cleanup phase
    changed["Resources"]["Vpc"]["Properties"]["Tags"] = [{"Key": "k", "Value": "v"}]
    execute(cfn, "lat", changed, kind="UPDATE")
    start = opened(cfn, "lat", "UPDATE_IN_PROGRESS")
    assert stack(cfn, "lat")["StackStatus"] == "UPDATE_IN_PROGRESS"
    # Only the VPC is updated: the unchanged subnet never reads UPDATE_IN_PROGRESS.
    shown = resources(cfn, "lat")
    assert (shown["Vpc"], shown["Subnet"]) == ("UPDATE_IN_PROGRESS", "CREATE_COMPLETE")
    update = modelled("AWS::EC2::VPC", "UPDATE")
    _at(endpoint_clock, start, update - BEFORE)
    assert stack(cfn, "lat")["StackStatus"] == "UPDATE_IN_PROGRESS"
    _at(endpoint_clock, start, update + AFTER)
    assert stack(cfn, "lat")["StackStatus"] == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    cleanup = update + modelled("AWS::ECS::Cluster", "DELETE")
    _at(endpoint_clock, start, cleanup - BEFORE)
    assert stack(cfn, "lat")["StackStatus"] == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    _at(endpoint_clock, start, cleanup + AFTER)
    assert stack(cfn, "lat")["StackStatus"] == "UPDATE_COMPLETE"


def test_delete_is_in_progress_by_name_and_by_id(
        slow: Any, endpoint_clock: EndpointClock) -> None:
    cfn = slow.cloudformation
    _created(cfn, endpoint_clock)
    stack_id = stack(cfn, "lat")["StackId"]
    cfn.delete_stack(StackName="lat")
    start = opened(cfn, stack_id, "DELETE_IN_PROGRESS")
    assert stack(cfn, "lat")["StackStatus"] == "DELETE_IN_PROGRESS"
    assert stack(cfn, stack_id)["StackStatus"] == "DELETE_IN_PROGRESS"
    # Reverse order: the subnet goes first, the VPC after it.
    end = modelled("AWS::EC2::Subnet", "DELETE") + modelled("AWS::EC2::VPC", "DELETE")
    _at(endpoint_clock, start, end - BEFORE)
    assert stack(cfn, "lat")["StackStatus"] == "DELETE_IN_PROGRESS"
    _at(endpoint_clock, start, end + AFTER)
    assert stack(cfn, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        stack(cfn, "lat")


def test_a_failure_comes_at_its_modelled_time_then_the_rollback(
        slow: Any, endpoint_clock: EndpointClock) -> None:
    cfn = slow.cloudformation
    failing = json.loads(json.dumps(TEMPLATE))
    # moto refuses a subnet outside its VPC's range: the failure at the subnet's end.
    failing["Resources"]["Subnet"]["Properties"]["CidrBlock"] = "192.168.0.0/24"
    execute(cfn, "lat", failing)
    start = opened(cfn, "lat", "CREATE_IN_PROGRESS")
    assert stack(cfn, "lat")["StackStatus"] == "CREATE_IN_PROGRESS"
    fail_at = modelled("AWS::EC2::VPC") + modelled("AWS::EC2::Subnet")
    _at(endpoint_clock, start, fail_at - BEFORE)
    assert stack(cfn, "lat")["StackStatus"] == "CREATE_IN_PROGRESS"
    _at(endpoint_clock, start, fail_at + AFTER)
    assert stack(cfn, "lat")["StackStatus"] == "ROLLBACK_IN_PROGRESS"
    failed = [e for e in cfn.describe_stack_events(StackName="lat")["StackEvents"]
              if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Subnet"]
    rollback = max(modelled("AWS::EC2::VPC", "DELETE"), modelled("AWS::ECS::Cluster", "DELETE"))
    _at(endpoint_clock, start, fail_at + rollback - BEFORE)
    assert stack(cfn, "lat")["StackStatus"] == "ROLLBACK_IN_PROGRESS"
    _at(endpoint_clock, start, fail_at + rollback + AFTER)
    assert stack(cfn, "lat")["StackStatus"] == "ROLLBACK_COMPLETE"


def test_off_by_default_and_bare_moto_completes_inside_the_request(
        endpoint: Endpoint, bare_endpoint: str) -> None:
    for url in (endpoint.url, bare_endpoint):
        reset(url)
        cfn = clients(url).cloudformation
        execute(cfn, "lat", TEMPLATE)
        assert stack(cfn, "lat")["StackStatus"] == "CREATE_COMPLETE"


def test_the_control_route_wants_the_token(endpoint: Endpoint) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=5)
    conn.request("POST", LATENCY_PATH, body=json.dumps({"latency": "real"}))
    assert conn.getresponse().status == 403
    conn.close()


def test_the_clock_moves_the_model_on_for_the_token_holder_only(
        slow: Any, endpoint: Endpoint) -> None:
    """The clock route (server.CLOCK_PATH): with the token, the model's time moves on by
    what was asked and a stack's modelled minutes are over at once; without it, or with
    another token, or asked to go back, nothing moves."""
    cfn = slow.cloudformation
    execute(cfn, "lat", TEMPLATE)
    _, before = post_clock(endpoint.port, endpoint.token, {"advance": 0})
    for token, body, refused in ((None, {"advance": 600}, 403),
                                 ("f" * 32, {"advance": 600}, 403),
                                 (endpoint.token, {"advance": -600}, 400),
                                 (endpoint.token, {"advance": "soon"}, 400),
                                 (endpoint.token, ["advance"], 400)):
        assert post_clock(endpoint.port, token, body)[0] == refused
    assert stack(cfn, "lat")["StackStatus"] == "CREATE_IN_PROGRESS"
    status, after = post_clock(endpoint.port, endpoint.token, {"advance": 600})
    assert status == 200
    assert after["offset"] == pytest.approx(before["offset"] + 600)
    assert stack(cfn, "lat")["StackStatus"] == "CREATE_COMPLETE"


def test_an_update_keeps_the_previous_outputs_while_in_progress(endpoint: Endpoint) -> None:
    """Issue 27: during UPDATE_IN_PROGRESS, DescribeStacks shows the stack's previous
    Outputs (AWS replaces them when the update completes); the model hid them, so a
    downstream stack read nothing. The create is made without the model (no wait)."""
    from generator.local.manager import set_latency

    reset(endpoint.url)
    cfn = clients(endpoint.url).cloudformation
    set_latency(endpoint, False, 1.0)
    execute(cfn, "keep", TEMPLATE)
    before = {o["OutputKey"]: o["OutputValue"] for o in stack(cfn, "keep")["Outputs"]}
    changed = json.loads(json.dumps(TEMPLATE))
    changed["Resources"]["Subnet"]["Properties"]["CidrBlock"] = "10.0.2.0/24"  # replaced
    set_latency(endpoint, True, LATENCY_SCALE)
    try:
        execute(cfn, "keep", changed, kind="UPDATE")
        during = stack(cfn, "keep")
    finally:
        set_latency(endpoint, False, 1.0)
    assert during["StackStatus"] == "UPDATE_IN_PROGRESS"
    assert {o["OutputKey"]: o["OutputValue"] for o in during.get("Outputs", [])} == before
