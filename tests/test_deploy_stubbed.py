"""What the local endpoint cannot show, fed responses of the real API's shape:
rollbacks with reasons, Replacement flags, failed change sets, throttling."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from generator.aws import RETRY_CONFIG
from generator.deploy.cfn import CloudFormation
from generator.deploy.engine import Deployer, DeployOptions
from generator.deploy.resolve import Lookups
from generator.deploy.ui import Console
from generator.errors import AwsError
from generator.params import load_env
from generator.render import Rendered, render
from tests.conftest import ROOT

STACK = "kubenews-local-network"
STACK_ID = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}/1a2b3c4d"
CS_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/stackgen-x/5e6f7a8b"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    return render(load_env(ROOT / "params", "local"), ROOT / "templates")


def _client() -> Any:
    return boto3.client("cloudformation", region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def _deployer(rendered: Rendered, client: Any, asked: list[str]) -> Deployer:
    def confirm(question: str) -> bool:
        asked.append(question)
        return True

    return Deployer(rendered, CloudFormation(client, sleep=lambda _: None), Lookups(None),
                    Console(color=False), confirm, DeployOptions(frozenset({"network"})))


def _event(n: int, logical: str, rtype: str, status: str, reason: str = "") -> dict[str, Any]:
    event = {"StackId": STACK_ID, "EventId": f"e{n}", "StackName": STACK,
             "LogicalResourceId": logical, "PhysicalResourceId": "", "ResourceType": rtype,
             "Timestamp": T0 + timedelta(seconds=n), "ResourceStatus": status}
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def _stack(status: str, **extra: Any) -> dict[str, Any]:
    return {"Stacks": [{"StackName": STACK, "StackId": STACK_ID, "StackStatus": status,
                        "CreationTime": T0, **extra}]}


def _change(action: str, logical: str, rtype: str, replacement: str | None = None,
            **extra: Any) -> dict[str, Any]:
    rc: dict[str, Any] = {"Action": action, "LogicalResourceId": logical, "ResourceType": rtype,
                          **extra}
    if replacement:
        rc["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": rc}


def _create_until_execute(stub: Stubber, changes: list[dict[str, Any]]) -> None:
    stub.add_response("describe_stacks", {"Stacks": []}, {})
    stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID},
                      {"StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "CREATE",
                       "TemplateBody": ANY, "Capabilities": ANY, "Description": ANY,
                       "Parameters": ANY, "Tags": ANY})
    stub.add_response("describe_change_set", {
        "ChangeSetId": CS_ID, "ChangeSetName": "stackgen-x", "StackId": STACK_ID,
        "StackName": STACK, "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE",
        "Changes": changes}, {"ChangeSetName": CS_ID, "IncludePropertyValues": True})
    stub.add_response("describe_stack_events", {"StackEvents": [
        _event(1, STACK, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS")]},
        {"StackName": STACK})
    stub.add_response("execute_change_set", {}, {"ChangeSetName": CS_ID})


def test_rollback_reports_the_failed_resources_and_their_reasons(
        rendered: Rendered, capsys: pytest.CaptureFixture[str]) -> None:
    client = _client()
    asked: list[str] = []
    with Stubber(client) as stub:
        _create_until_execute(stub, [_change("Add", "Vpc", "AWS::EC2::VPC")])
        stub.add_response("describe_stacks", _stack("CREATE_IN_PROGRESS"), {"StackName": STACK})
        stub.add_response("describe_stack_events", {"StackEvents": [
            _event(3, "Vpc", "AWS::EC2::VPC", "CREATE_FAILED",
                   "Resource handler returned message: \"The CIDR '10.0.0.0/16' conflicts\""),
            _event(2, STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS",
                   "User Initiated"),
            _event(1, STACK, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS")]},
            {"StackName": STACK})
        stub.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"), {"StackName": STACK})
        stub.add_response("describe_stack_events", {"StackEvents": [
            _event(5, STACK, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
            _event(4, "Vpc", "AWS::EC2::VPC", "DELETE_COMPLETE"),
            _event(3, "Vpc", "AWS::EC2::VPC", "CREATE_FAILED", "ignored: already seen")]},
            {"StackName": STACK})
        [result] = _deployer(rendered, client, asked).run()
        stub.assert_no_pending_responses()
    assert result.state == "FAILED"
    assert result.reasons == [
        "Vpc (AWS::EC2::VPC): Resource handler returned message: "
        "\"The CIDR '10.0.0.0/16' conflicts\""]
    out = capsys.readouterr().out
    # Only this operation's events, each once, oldest first.
    assert out.index("CREATE_IN_PROGRESS") < out.index("CREATE_FAILED") < \
        out.index("ROLLBACK_COMPLETE")
    assert out.count("REVIEW_IN_PROGRESS") == 0 and out.count("CREATE_FAILED") == 1
    assert asked == [f"execute this change set on {STACK}?"]


def test_replacement_flags_reach_the_review(rendered: Rendered,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    client = _client()
    with Stubber(client) as stub:
        _create_until_execute(stub, [
            _change("Modify", "Vpc", "AWS::EC2::VPC", "True", PhysicalResourceId="vpc-0a1b",
                    Scope=["Properties"], Details=[{
                        "Target": {"Attribute": "Properties", "Name": "CidrBlock",
                                   "RequiresRecreation": "Always"},
                        "Evaluation": "Static", "ChangeSource": "DirectModification"}]),
            _change("Modify", "PublicSubnet1", "AWS::EC2::Subnet", "Conditional"),
            _change("Add", "NatGateway", "AWS::EC2::NatGateway")])
        stub.add_response("describe_stacks", _stack("CREATE_COMPLETE", Outputs=[
            {"OutputKey": "VpcId", "OutputValue": "vpc-0a1b"}]), {"StackName": STACK})
        stub.add_response("describe_stack_events", {"StackEvents": [
            _event(2, STACK, "AWS::CloudFormation::Stack", "CREATE_COMPLETE"),
            _event(1, STACK, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS")]},
            {"StackName": STACK})
        [result] = _deployer(rendered, client, []).run()
    assert result.state == "CREATED" and result.outputs == {"VpcId": "vpc-0a1b"}
    review = capsys.readouterr().out
    rows = {line.split()[2]: line.split() for line in review.splitlines()
            if line.strip().startswith(("~", "+"))}
    assert rows["Vpc"][-1] == "True"
    assert rows["PublicSubnet1"][-1] == "Conditional"
    assert rows["NatGateway"][-1] == "AWS::EC2::NatGateway"  # no replacement column value
    assert "VpcId = vpc-0a1b" in review


def test_a_change_set_that_fails_creation_is_cleaned_up(rendered: Rendered) -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", {"Stacks": []}, {})
        stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID}, None)
        stub.add_response("describe_change_set", {
            "ChangeSetId": CS_ID, "StackId": STACK_ID, "StackName": STACK, "Status": "FAILED",
            "ExecutionStatus": "UNAVAILABLE",
            "StatusReason": "Template format error: Unresolved resource dependencies [Igw]"},
            {"ChangeSetName": CS_ID, "IncludePropertyValues": True})
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
        stub.add_response("delete_stack", {}, {"StackName": STACK})
        [result] = _deployer(rendered, client, []).run()
        stub.assert_no_pending_responses()
    assert result.state == "FAILED"
    assert "Unresolved resource dependencies [Igw]" in result.reasons[0]


def test_persistent_throttling_is_a_clean_failure_not_a_traceback(rendered: Rendered) -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400)
        with pytest.raises(AwsError, match="Rate exceeded"):
            _deployer(rendered, client, []).run()


class _ThrottlingCloudFormation(BaseHTTPRequestHandler):
    """Answers like CloudFormation under load: Throttling twice, then the result."""

    hits = 0
    THROTTLED = (b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
                 b"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                 b"</Message></Error><RequestId>r1</RequestId></ErrorResponse>")
    OK = (b'<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
          b"<DescribeStacksResult><Stacks><member><StackName>s</StackName><StackId>id</StackId>"
          b"<StackStatus>CREATE_COMPLETE</StackStatus>"
          b"<CreationTime>2026-11-28T12:00:00Z</CreationTime></member></Stacks>"
          b"</DescribeStacksResult><ResponseMetadata><RequestId>r2</RequestId>"
          b"</ResponseMetadata></DescribeStacksResponse>")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).hits += 1
        body = self.THROTTLED if type(self).hits <= 2 else self.OK
        self.send_response(400 if type(self).hits <= 2 else 200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def throttling_server() -> Iterator[str]:
    _ThrottlingCloudFormation.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ThrottlingCloudFormation)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_throttling_is_absorbed_by_adaptive_retries(throttling_server: str) -> None:
    client = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=throttling_server,
                          aws_access_key_id="x", aws_secret_access_key="x", config=RETRY_CONFIG)
    assert client.meta.config.retries["mode"] == "adaptive"
    found = CloudFormation(client).describe_many(["s", "other"])
    assert list(found) == ["s"] and found["s"].status == "CREATE_COMPLETE"
    assert _ThrottlingCloudFormation.hits == 3


def test_rollback_complete_is_recreated_after_a_yes(rendered: Rendered) -> None:
    client = _client()
    asked: list[str] = []
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"), {})
        stub.add_response("delete_stack", {}, {"StackName": STACK})
        stub.add_client_error("describe_stacks", "ValidationError",
                              f"Stack with id {STACK} does not exist", 400,
                              expected_params={"StackName": STACK})
        stub.add_response("create_change_set", {"Id": CS_ID, "StackId": STACK_ID}, None)
        stub.add_response("describe_change_set", {
            "ChangeSetId": CS_ID, "StackId": STACK_ID, "StackName": STACK, "Status": "FAILED",
            "StatusReason": "stop here"}, {"ChangeSetName": CS_ID, "IncludePropertyValues": True})
        stub.add_response("delete_change_set", {}, {"ChangeSetName": CS_ID})
        stub.add_response("delete_stack", {}, {"StackName": STACK})
        [result] = _deployer(rendered, client, asked).run()
        stub.assert_no_pending_responses()
    assert asked[0].startswith(f"{STACK} is ROLLBACK_COMPLETE after a failed create")
    assert result.state == "FAILED" and "stop here" in result.reasons[0]


def test_rollback_complete_is_left_alone_without_a_yes(rendered: Rendered) -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", _stack("ROLLBACK_COMPLETE"), {})
        deployer = _deployer(rendered, client, [])
        deployer.confirm = lambda question: False
        [result] = deployer.run()
        stub.assert_no_pending_responses()
    assert result.state == "DECLINED"
