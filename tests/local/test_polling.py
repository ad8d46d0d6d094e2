"""Polling against the local endpoint's latency model (issue 16, item 3)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from generator.aws.cfn import CloudFormation
from generator.aws.polling import Waits, backoff
from tests.conftest import LATENCY_SCALE
from tests.helpers.polling import STACK

# --- on the latency model ---------------------------------------------------------------

SCALE = LATENCY_SCALE


def _create(cfn: Any, template: dict[str, Any]) -> None:
    cs = cfn.create_change_set(StackName=STACK, ChangeSetName=f"cs{time.monotonic_ns()}",
                               ChangeSetType="CREATE", TemplateBody=json.dumps(template))
    cfn.execute_change_set(ChangeSetName=cs["Id"])


def _noticed(client: Any, template: dict[str, Any]) -> tuple[str, float, float, int]:
    """Create, wait as the engine does; (final status, modelled seconds from the status
    change to our noticing it, the poll delay then in force, calls made)."""
    cfn = CloudFormation(client, waits=Waits(time_scale=SCALE))
    _create(client, template)
    info = cfn.wait_stack(STACK)
    noticed = time.time()
    assert info is not None
    events = client.describe_stack_events(StackName=STACK)["StackEvents"]
    changed = max(e["Timestamp"] for e in events
                  if e["LogicalResourceId"] == STACK).timestamp()
    elapsed = (changed - min(e["Timestamp"] for e in events).timestamp()) * SCALE
    in_force = next(itertools.dropwhile(lambda pair: pair[1] < elapsed, zip(
        backoff(), itertools.accumulate(backoff()), strict=False)))[0]
    return info.status, (noticed - changed) * SCALE, in_force, cfn.calls


def test_completion_is_noticed_within_two_seconds_early_and_the_cap_later(slow: Any) -> None:
    quick = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC",
                                   "Properties": {"CidrBlock": "10.0.0.0/16"}}}}
    status, late, in_force, calls = _noticed(slow.cloudformation, quick)
    assert status == "CREATE_COMPLETE"
    assert late <= 2.0 + 0.5 * SCALE  # modelled seconds; 0.5 s of wall slack for the box
    assert in_force <= 2.0
    assert calls <= 12  # 10 modelled seconds: polls at 0, .5, 1.25, 2.4, 4.1, 6.6, 10.4


def test_failure_is_noticed_within_the_delay_in_force(slow: Any) -> None:
    failing = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "192.168.0.0/24"}}}}
    status, late, in_force, _ = _noticed(slow.cloudformation, failing)
    assert status == "ROLLBACK_COMPLETE"
    assert late <= in_force + 0.5 * SCALE

