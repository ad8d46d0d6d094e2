"""The local endpoint never wedges (issue 25): each reproduction below once left every
DescribeStacks answering HTTP 500 or a stack that could not be deleted, and only `local down
&& local up` (all state lost) recovered. After each, the endpoint is asked for every stack.

A resource that fails fails its stack, with a reason (UPDATE_FAILED, then the rollback);
a failing delete leaves DELETE_FAILED as AWS does; tag-only updates are applied.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.local.manager import Endpoint, set_latency
from tests.conftest import aws_env, clients, reset, run_stackgen
from tests.helpers.endpoint_clock import EndpointClock
from tests.local.test_emulation import _ec2_cluster, ecs_stack


def _every_stack_answers(c: Any) -> dict[str, str]:
    """What `stackgen status` needs: DescribeStacks (no name) answers, each stack by name too."""
    stacks = c.cloudformation.describe_stacks()["Stacks"]
    for stack in stacks:
        c.cloudformation.describe_stacks(StackName=stack["StackName"])
        c.cloudformation.describe_stack_events(StackName=stack["StackName"])
    return {s["StackName"]: s["StackStatus"] for s in stacks}


def _execute(c: Any, name: str, template: dict[str, Any], kind: str,
             tags: dict[str, str] | None = None) -> str:
    cs = c.cloudformation.create_change_set(
        StackName=name, ChangeSetName=f"cs{time.monotonic_ns()}", ChangeSetType=kind,
        TemplateBody=json.dumps(template),
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    c.cloudformation.execute_change_set(ChangeSetName=cs["Id"])
    return str(cs["Id"])


def _execute_params(c: Any, name: str, template: dict[str, Any],
                    params: dict[str, str]) -> None:
    cs = c.cloudformation.create_change_set(
        StackName=name, ChangeSetName=f"cs{time.monotonic_ns()}", ChangeSetType="CREATE",
        TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    c.cloudformation.execute_change_set(ChangeSetName=cs["Id"])


# How far the endpoint's clock moves on between two looks at a stack in the latency model's
# tests (model seconds; an ECS service takes 180), and how far at most.
STEP = 5.0
LIMIT = 3600.0


def _wait_gone(c: Any, name: str, clock: EndpointClock) -> None:
    for _ in range(int(LIMIT / STEP)):
        try:
            status = c.cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        except ClientError:
            return
        assert status in ("DELETE_IN_PROGRESS", "ROLLBACK_COMPLETE"), status
        clock.advance(STEP)
    raise AssertionError(f"{name} still there after {LIMIT} modelled seconds")


def _status(c: Any, name: str) -> str:
    return str(c.cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def _wait(c: Any, name: str, clock: EndpointClock) -> str:
    for _ in range(int(LIMIT / STEP)):
        status = _status(c, name)
        if not status.endswith("_IN_PROGRESS"):
            return status
        clock.advance(STEP)
    return status


# --- access logs on an existing load balancer ----------------------------------------------

def _alb(access_logs: bool) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
        "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.1.0/24", "AvailabilityZone": "us-east-1a"}},
        "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.2.0/24", "AvailabilityZone": "us-east-1b"}},
        "LoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Type": "application", "Scheme": "internet-facing",
            "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            "LoadBalancerAttributes": [{"Key": "idle_timeout.timeout_seconds", "Value": "60"}]}},
    }
    if access_logs:
        resources["AccessLogsBucket"] = {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}
        resources["LoadBalancer"]["DependsOn"] = "AccessLogsBucket"
        resources["LoadBalancer"]["Properties"]["LoadBalancerAttributes"] += [
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": {"Ref": "AccessLogsBucket"}}]
    return {"Resources": resources, "Outputs": {
        "LoadBalancerArn": {"Value": {"Ref": "LoadBalancer"}},
        "DnsName": {"Value": {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}}}}


def test_enabling_access_logs_on_a_deployed_load_balancer_updates_it(aws: Any) -> None:
    _execute(aws, "alb", _alb(access_logs=False), "CREATE")
    before = {o["OutputKey"]: o["OutputValue"]
              for o in aws.cloudformation.describe_stacks(StackName="alb")["Stacks"][0]["Outputs"]}
    _execute(aws, "alb", _alb(access_logs=True), "UPDATE")
    assert _every_stack_answers(aws) == {"alb": "UPDATE_COMPLETE"}
    stack = aws.cloudformation.describe_stacks(StackName="alb")["Stacks"][0]
    # Updated in place (LoadBalancerAttributes is "Update requires: No interruption").
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == before
    attributes = {a["Key"]: a["Value"] for a in aws.elbv2.describe_load_balancer_attributes(
        LoadBalancerArn=before["LoadBalancerArn"])["Attributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"


def test_a_resource_moto_cannot_update_stays_in_its_stack(aws: Any) -> None:
    """moto has no update for a log group (and ~50 other types): its update left the stack
    without the resource, and every DescribeStacks answered 500 on the Outputs' GetAtt."""
    def template(days: int) -> dict[str, Any]:
        return {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup",
                                       "Properties": {"RetentionInDays": days}}},
                "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}}}}

    _execute(aws, "logs", template(7), "CREATE")
    _execute(aws, "logs", template(14), "UPDATE")
    assert _every_stack_answers(aws) == {"logs": "UPDATE_COMPLETE"}
    outputs = aws.cloudformation.describe_stacks(StackName="logs")["Stacks"][0]["Outputs"]
    assert outputs[0]["OutputValue"].startswith("arn:aws:logs:")


def test_an_output_the_endpoint_cannot_resolve_fails_the_update_not_the_endpoint(aws: Any) -> None:
    """A target group's LoadBalancerArns is documented on AWS but moto has none: the update
    rolls back naming the Output, and the endpoint keeps answering for every stack."""
    def template(extra: bool) -> dict[str, Any]:
        outputs: dict[str, Any] = {"Vpc": {"Value": {"Ref": "Vpc"}}}
        if extra:
            outputs["Lbs"] = {"Value": {"Fn::Join": [
                ",", {"Fn::GetAtt": ["Tg", "LoadBalancerArns"]}]}}
        return {"Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
            "Tg": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "Port": 80, "Protocol": "HTTP"}}},
            "Outputs": outputs}

    _execute(aws, "tg", template(False), "CREATE")
    _execute(aws, "tg", template(True), "UPDATE")
    assert _every_stack_answers(aws) == {"tg": "UPDATE_ROLLBACK_COMPLETE"}
    events = aws.cloudformation.describe_stack_events(StackName="tg")["StackEvents"]
    failed = [e for e in events if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed and failed[0]["LogicalResourceId"] == "Lbs"
    assert "LoadBalancerArns" in failed[0]["ResourceStatusReason"]
    outputs = aws.cloudformation.describe_stacks(StackName="tg")["Stacks"][0]["Outputs"]
    assert [o["OutputKey"] for o in outputs] == ["Vpc"]


# --- a failed create deleted while the latency model is on ---------------------------------

@pytest.fixture
def aws_latency(endpoint: Endpoint) -> Iterator[Any]:
    """The latency model on at AWS's own figures; the tests move its clock on."""
    reset(endpoint.url)
    set_latency(endpoint, True, 1.0)
    try:
        yield clients(endpoint.url)
    finally:
        set_latency(endpoint, False, 1.0)


def test_a_stack_whose_create_failed_deletes_with_the_latency_model_on(
        aws_latency: Any, endpoint_clock: EndpointClock) -> None:
    """The placement error of the failed create was raised again by the delete: the stack
    could never be deleted. A failed create's stack holds nothing; its delete completes."""
    slow, clock = aws_latency, endpoint_clock

    _ec2_cluster(slow, "t3.micro")
    assert _status(slow, "asg") == "CREATE_IN_PROGRESS"  # the model is on
    assert _wait(slow, "asg", clock) == "CREATE_COMPLETE"
    _execute_params(slow, "ecs", ecs_stack(memory=2048), {"ClusterName": "app"})
    assert _wait(slow, "ecs", clock) == "ROLLBACK_COMPLETE"
    slow.cloudformation.delete_stack(StackName="ecs")
    _wait_gone(slow, "ecs", clock)
    assert "ecs" not in _every_stack_answers(slow)


def test_a_failing_delete_with_the_latency_model_on_leaves_delete_failed(
        aws_latency: Any, endpoint_clock: EndpointClock) -> None:
    from tests.local.test_emulation import _sg_with_retained_user

    c, clock = aws_latency, endpoint_clock
    _execute(c, "net", _sg_with_retained_user(), "CREATE")
    assert _status(c, "net") == "CREATE_IN_PROGRESS"  # the model is on
    assert _wait(c, "net", clock) == "CREATE_COMPLETE"
    c.cloudformation.delete_stack(StackName="net")
    assert _status(c, "net") == "DELETE_IN_PROGRESS"
    assert _wait(c, "net", clock) == "DELETE_FAILED"
    assert _every_stack_answers(c) == {"net": "DELETE_FAILED"}
    events = c.cloudformation.describe_stack_events(StackName="net")["StackEvents"]
    assert any(e["LogicalResourceId"] == "Sg" and e["ResourceStatus"] == "DELETE_FAILED"
               for e in events)


# --- tag-only updates ---------------------------------------------------------------------

def _tag_only_update(c: Any) -> None:
    """What `deploy --set tags.owner=x` sends once the templates are unchanged."""
    template = {"Parameters": {"Days": {"Type": "Number"}},
                "Resources": {"Logs": {"Type": "AWS::Logs::LogGroup",
                                       "Properties": {"RetentionInDays": {"Ref": "Days"}}}}}
    c.cloudformation.create_stack(StackName="tagged", TemplateBody=json.dumps(template),
                                  Parameters=[{"ParameterKey": "Days", "ParameterValue": "7"}],
                                  Tags=[{"Key": "owner", "Value": "a"}])
    c.cloudformation.update_stack(StackName="tagged", UsePreviousTemplate=True,
                                  Parameters=[{"ParameterKey": "Days", "UsePreviousValue": True}],
                                  Tags=[{"Key": "owner", "Value": "x"}])


def test_a_tag_only_update_is_applied(aws: Any, bare_endpoint: str) -> None:
    _tag_only_update(aws)
    assert _every_stack_answers(aws) == {"tagged": "UPDATE_COMPLETE"}
    stack = aws.cloudformation.describe_stacks(StackName="tagged")["Stacks"][0]
    assert stack["Tags"] == [{"Key": "owner", "Value": "x"}]
    # bare moto refuses it
    reset(bare_endpoint)
    with pytest.raises(ClientError, match="No updates are to be performed"):
        _tag_only_update(clients(bare_endpoint))


# --- a resource removed and added again -----------------------------------------------------

def _with_job(job: bool) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}}
    if job:
        resources["NightlySchedule"] = {"Type": "AWS::Scheduler::Schedule", "Properties": {
            "Name": "nightly", "ScheduleExpression": "cron(0 3 * * ? *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/app",
                       "RoleArn": "arn:aws:iam::123456789012:role/scheduler"}}}
    return {"Resources": resources}


def test_a_scheduled_job_added_removed_and_added_again(aws: Any) -> None:
    """moto kept a removed resource in the stack's map, so adding it again made nothing
    and removing it the second time failed ("Schedule ... does not exist"), rolling back."""
    _execute(aws, "ecs", _with_job(False), "CREATE")
    for job in (True, False, True, False, True):
        _execute(aws, "ecs", _with_job(job), "UPDATE")
        assert _every_stack_answers(aws) == {"ecs": "UPDATE_COMPLETE"}, job
        names = [s["Name"] for s in aws.scheduler.list_schedules()["Schedules"]]
        assert names == (["nightly"] if job else []), job


# --- the reproductions as an operator meets them ----------------------------------------------

def test_tag_only_and_access_log_deploys_leave_status_answering(project: Path, endpoint: Endpoint,
                                                                aws: Any) -> None:
    def stackgen(*args: str) -> Any:
        return run_stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint),
                            timeout=300)

    first = stackgen("deploy", "--env", "local", "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    tagged = stackgen("deploy", "--env", "local", "--yes", "--set", "tags.owner=x")
    assert tagged.returncode == 0, tagged.stdout + tagged.stderr
    assert "No updates are to be performed" not in tagged.stdout + tagged.stderr
    owners = {s["StackName"]: {t["Key"]: t["Value"] for t in s.get("Tags", [])}.get("owner")
              for s in aws.cloudformation.describe_stacks()["Stacks"]}
    assert set(owners.values()) == {"x"}, owners
    logged = stackgen("deploy", "--env", "local", "--yes", "--set", "tags.owner=x", "--set",
                      "alb.access_logs.enabled=true", "--approve-broadening")
    assert logged.returncode == 0, logged.stdout + logged.stderr
    status = stackgen("status", "--env", "local")
    assert status.returncode in (0, 1), status.stdout + status.stderr  # it answers
    assert "Traceback" not in status.stderr and "500" not in status.stdout, status.stdout
    stacks = _every_stack_answers(aws)
    assert stacks and all(not s.endswith("_IN_PROGRESS") for s in stacks.values()), stacks


def test_list_change_sets_answers_while_other_stacks_make_change_sets(aws: Any) -> None:
    """A parallel deploy lists one stack's change sets while another stack's are made: moto
    serialised its live dict after the call and answered 500 ("OrderedDict mutated during
    iteration"), failing the deploy of a stack that had nothing wrong."""
    template = json.dumps({"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}}})
    errors: list[BaseException] = []
    done = threading.Event()

    def make(worker: int) -> None:
        c = aws
        try:
            for i in range(25):
                c.cloudformation.create_change_set(
                    StackName=f"s{worker}-{i}", ChangeSetName="cs", ChangeSetType="CREATE",
                    TemplateBody=template)
        except BaseException as exc:
            errors.append(exc)

    def list_them() -> None:
        try:
            while not done.is_set():
                aws.cloudformation.list_change_sets(StackName="s0-0")
        except BaseException as exc:
            errors.append(exc)

    makers = [threading.Thread(target=make, args=(w,)) for w in range(3)]
    listers = [threading.Thread(target=list_them) for _ in range(2)]
    for t in [*makers, *listers]:
        t.start()
    for t in makers:
        t.join(60)
    done.set()
    for t in listers:
        t.join(60)
    assert errors == []
