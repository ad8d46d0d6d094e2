"""Why a service or task failed (generator/ecs/diagnose.py): stopped tasks, DB events,
scaling activities, on responses of the real APIs' shapes."""

from __future__ import annotations

import pytest
from botocore.stub import ANY, Stubber

from generator.aws.cfn import CloudFormation
from generator.deploy.engine import Deployer
from generator.deploy.stack_work import DeployOptions
from generator.ecs import diagnose as diag
from generator.ecs.deploy_hooks import EcsHooks
from generator.references import Lookups
from generator.render import Rendered
from generator.ui import Console
from tests.helpers.ecs_responses import (
    ACCOUNT,
    CLUSTER,
    GROUP,
    SERVICE,
    SERVICE_ARN,
    T0,
    TASK_ARN,
    TASK_ID,
    TD_ARN,
    _Aws,
    _client,
    _service,
    _stopped_task,
    _task_definition,
)

PLACEMENT = (f"(service {SERVICE}) was unable to place a task because no container instance "
             "met all of its requirements. The closest matching (container-instance "
             "5f3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d) has insufficient memory available. For more "
             "information, see the Troubleshooting section of the Amazon ECS Developer Guide.")


def test_a_service_that_fails_to_stabilize_is_diagnosed_to_the_stopped_task() -> None:
    ecs, logs = _client("ecs"), _client("logs")
    with Stubber(ecs) as s_ecs, Stubber(logs) as s_logs:
        s_ecs.add_response("describe_services", {"services": [_service(events=[PLACEMENT])],
                                                 "failures": []},
                           {"cluster": CLUSTER, "services": [SERVICE_ARN]})
        s_ecs.add_response("list_tasks", {"taskArns": [TASK_ARN]},
                           {"cluster": CLUSTER, "serviceName": SERVICE_ARN,
                            "desiredStatus": "STOPPED"})
        s_ecs.add_response("describe_tasks", {"tasks": [_stopped_task(
            1, "Essential container in task exited")], "failures": []},
            {"cluster": CLUSTER, "tasks": [TASK_ARN]})
        s_ecs.add_response("describe_task_definition", _task_definition(),
                           {"taskDefinition": TD_ARN})
        s_logs.add_response("get_log_events", {"events": [
            {"timestamp": 1796040000000, "message": "Error: connect ECONNREFUSED 10.0.3.17:5432",
             "ingestionTime": 1796040000100},
            {"timestamp": 1796040000001, "message": "npm ERR! code 1\n",
             "ingestionTime": 1796040000100}],
            "nextForwardToken": "f/1", "nextBackwardToken": "b/1"},
            {"logGroupName": GROUP, "logStreamName": f"web/web/{TASK_ID}", "limit": 5,
             "startFromHead": False})
        notes = diag.diagnose(lambda s: {"ecs": ecs, "logs": logs}[s],
                              {"Service": ("AWS::ECS::Service", SERVICE_ARN)})
        s_ecs.assert_no_pending_responses()
    assert notes == [
        "diagnosis: service kubenews-dev-ecs-Service-7QX2LQ5T0JZ1: deployment "
        "ecs-svc/8273645190283746512 FAILED: ECS deployment circuit breaker: tasks failed to start.",
        f"diagnosis: service event: {PLACEMENT}",
        f"diagnosis: stopped task {TASK_ID}: Essential container in task exited "
        "(EssentialContainerExited)",
        "diagnosis:   container web: exit code 1",
        "diagnosis:   last log lines of web: Error: connect ECONNREFUSED 10.0.3.17:5432 | "
        "npm ERR! code 1",
    ]


def test_db_events_and_failed_scaling_activities_are_named() -> None:
    rds, asg = _client("rds"), _client("autoscaling")
    with Stubber(rds) as s_rds, Stubber(asg) as s_asg:
        s_rds.add_response("describe_events", {"Events": [
            {"SourceIdentifier": "kubenews-dev-db", "SourceType": "db-instance",
             "Message": "DB instance restarted", "EventCategories": ["availability"],
             "Date": T0},
            {"SourceIdentifier": "kubenews-dev-db", "SourceType": "db-instance",
             "Message": "The parameter max_connections was set to a value incompatible with "
                        "the instance class, the instance is in incompatible-parameters.",
             "EventCategories": ["configuration change"], "Date": T0}]},
            {"SourceIdentifier": "kubenews-dev-db", "SourceType": "db-instance",
             "StartTime": ANY})
        s_asg.add_response("describe_scaling_activities", {"Activities": [
            {"ActivityId": "a1", "AutoScalingGroupName": "kubenews-dev-asg",
             "Description": "Launching a new EC2 instance.  Status Reason: ...",
             "Cause": "At 2026-11-28T12:00:00Z an instance was started in response to a "
                      "difference between desired and actual capacity.",
             "StartTime": T0, "StatusCode": "Failed",
             "StatusMessage": "We currently do not have sufficient t3.micro capacity in the "
                              "Availability Zone you requested (us-east-1e)."},
            {"ActivityId": "a0", "AutoScalingGroupName": "kubenews-dev-asg",
             "Description": "Launching a new EC2 instance: i-0abc", "Cause": "...",
             "StartTime": T0, "StatusCode": "Successful"}]},
            {"AutoScalingGroupName": "kubenews-dev-asg", "MaxRecords": 20})
        notes = diag.diagnose(lambda s: {"rds": rds, "autoscaling": asg}[s], {
            "DbInstance": ("AWS::RDS::DBInstance", "kubenews-dev-db"),
            "AutoScalingGroup": ("AWS::AutoScaling::AutoScalingGroup", "kubenews-dev-asg")})
    assert any("sufficient t3.micro capacity" in n and "Failed" in n for n in notes)
    assert not any("i-0abc" in n for n in notes)
    assert any("incompatible-parameters" in n for n in notes)


def test_a_diagnosis_that_cannot_be_made_is_a_note_not_an_error() -> None:
    ecs = _client("ecs")
    with Stubber(ecs) as s_ecs:
        s_ecs.add_client_error("describe_services", "AccessDeniedException",
                               "User is not authorized to perform: ecs:DescribeServices")
        notes = diag.diagnose(lambda s: ecs, {"Service": ("AWS::ECS::Service", SERVICE_ARN)})
    assert len(notes) == 1 and "could not diagnose" in notes[0] and "not authorized" in notes[0]


def test_the_engine_puts_the_diagnosis_in_the_root_cause(dev: Rendered) -> None:
    """The ecs stack's event says "did not stabilize"; the root cause gains the stopped
    task's reason and exit code (read through the hooks from the stack's resources)."""
    stack = dev.stacks["ecs"].stack_name
    stack_id = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{stack}/9f8e7d6c"
    cfn, ecs, logs = _client("cloudformation"), _client("ecs"), _client("logs")
    hooks = EcsHooks(dev, _Aws(cfn, {"ecs": ecs, "logs": logs}), Console(color=False))  # type: ignore[arg-type]
    with Stubber(cfn) as s_cfn, Stubber(ecs) as s_ecs, Stubber(logs) as s_logs:
        s_cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack})
        s_cfn.add_response("execute_change_set", {}, {"ChangeSetName": "cs-1"})
        s_cfn.add_response("describe_stacks", {"Stacks": [{
            "StackName": stack, "StackId": stack_id, "CreationTime": T0,
            "StackStatus": "UPDATE_ROLLBACK_COMPLETE",
            "Parameters": [{"ParameterKey": "ClusterName", "ParameterValue": CLUSTER}]}]},
            {"StackName": stack})
        s_cfn.add_response("describe_stack_events", {"StackEvents": [{
            "StackId": stack_id, "EventId": "e2", "StackName": stack,
            "LogicalResourceId": "Service", "PhysicalResourceId": SERVICE_ARN,
            "ResourceType": "AWS::ECS::Service", "Timestamp": T0,
            "ResourceStatus": "UPDATE_FAILED",
            "ResourceStatusReason": "Resource handler returned message: \"Error occurred during "
                                    "operation 'ECS Deployment Circuit Breaker was triggered'.\""}]},
            {"StackName": stack})
        s_cfn.add_response("list_stack_resources", {"StackResourceSummaries": [
            {"LogicalResourceId": "Service", "PhysicalResourceId": SERVICE_ARN,
             "ResourceType": "AWS::ECS::Service", "LastUpdatedTimestamp": T0,
             "ResourceStatus": "UPDATE_COMPLETE"}]}, {"StackName": stack})
        # The template's other diagnosable resources are not listed (conditions): their
        # failed events are read for a physical id (a rolled-back resource's is there).
        s_cfn.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack})
        s_cfn.add_response("describe_stacks", {"Stacks": [{
            "StackName": stack, "StackId": stack_id, "CreationTime": T0,
            "StackStatus": "UPDATE_ROLLBACK_COMPLETE",
            "Parameters": [{"ParameterKey": "ClusterName", "ParameterValue": CLUSTER}]}]},
            {"StackName": stack})
        s_ecs.add_response("describe_services", {"services": [_service()]},
                           {"cluster": CLUSTER, "services": [SERVICE_ARN]})
        s_ecs.add_response("list_tasks", {"taskArns": [TASK_ARN]},
                           {"cluster": CLUSTER, "serviceName": SERVICE_ARN,
                            "desiredStatus": "STOPPED"})
        s_ecs.add_response("describe_tasks", {"tasks": [_stopped_task(
            137, "Essential container in task exited", "OutOfMemoryError: Container killed due "
            "to memory usage")]}, {"cluster": CLUSTER, "tasks": [TASK_ARN]})
        s_ecs.add_response("describe_task_definition", _task_definition(),
                           {"taskDefinition": TD_ARN})
        s_logs.add_response("get_log_events", {"events": [
            {"timestamp": 1796040000000, "message": "FATAL heap out of memory"}]},
            {"logGroupName": GROUP, "logStreamName": f"web/web/{TASK_ID}", "limit": 5,
             "startFromHead": False})
        deployer = Deployer(dev, CloudFormation(cfn, sleep=lambda _: None), Lookups(None),
                            Console(color=False), lambda q: True, DeployOptions(hooks=hooks))
        with pytest.raises(Exception) as failed:
            deployer.execute("ecs", stack, "cs-1")
        s_ecs.assert_no_pending_responses()
    reasons = failed.value.reasons  # type: ignore[attr-defined]
    assert reasons[0].startswith("Service (AWS::ECS::Service): Resource handler returned")
    assert f"diagnosis: stopped task {TASK_ID}: Essential container in task exited " \
           "(EssentialContainerExited)" in reasons
    assert "diagnosis:   container web: exit code 137, reason: OutOfMemoryError: Container " \
           "killed due to memory usage" in reasons
    assert "diagnosis:   last log lines of web: FATAL heap out of memory" in reasons

