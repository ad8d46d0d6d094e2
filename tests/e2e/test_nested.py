"""The nested form: one root stack, children from content-addressed S3 keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen

BUCKET = "stackgen-artifacts-123456789012-us-east-1"


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    result = run_stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))
    return result


def _children(c: Any) -> dict[str, dict[str, Any]]:
    """Child stacks of the root by logical id, as the API describes them."""
    resources = c.cloudformation.describe_stack_resources(StackName="kubenews-local-root")[
        "StackResources"]
    out = {}
    for r in resources:
        if r["ResourceType"] == "AWS::CloudFormation::Stack":
            out[r["LogicalResourceId"]] = c.cloudformation.describe_stacks(
                StackName=r["PhysicalResourceId"])["Stacks"][0]
    return out


def _values(items: list[dict[str, str]], key: str, value: str) -> dict[str, str]:
    return {i[key]: i[value] for i in items}


def test_nested_deploy_update_and_delete(project: Path, endpoint: Endpoint, aws: Any) -> None:
    first = _run(project, endpoint, "deploy", "--env", "local", "--nested", "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "uploaded 8 of 8 child templates" in first.stdout
    versions = aws.s3.list_object_versions(Bucket=BUCKET, Prefix="stackgen/")["Versions"]
    assert len(versions) == 8
    assert aws.s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    encryption = aws.s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert aws.s3.get_public_access_block(Bucket=BUCKET)[
        "PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True

    children = _children(aws)
    assert set(children) == {"Network", "Dns", "Cluster", "Cert", "Alb", "Asg", "Rds", "Ecs"}
    outs = {k: _values(s.get("Outputs", []), "OutputKey", "OutputValue")
            for k, s in children.items()}
    params = {k: _values(s["Parameters"], "ParameterKey", "ParameterValue")
              for k, s in children.items()}
    assert params["Alb"]["VpcId"] == outs["Network"]["VpcId"]
    assert params["Alb"]["CertificateArn"] == outs["Cert"]["CertificateArn"]
    assert params["Ecs"]["DbEndpoint"] == outs["Rds"]["DbEndpoint"]
    assert params["Asg"]["ClusterName"] == outs["Cluster"]["ClusterName"]
    assert params["Rds"]["AppSecurityGroupId"] == outs["Network"]["AppSecurityGroupId"]
    root = aws.cloudformation.describe_stacks(StackName="kubenews-local-root")["Stacks"][0]
    root_outputs = _values(root["Outputs"], "OutputKey", "OutputValue")
    assert root_outputs["AlbLoadBalancerDnsName"] == outs["Alb"]["LoadBalancerDnsName"]

    again = _run(project, endpoint, "deploy", "--env", "local", "--nested", "--yes")
    assert again.returncode == 0
    assert "uploaded 0 of 8" in again.stdout and "is up to date" in again.stdout
    assert len(aws.s3.list_object_versions(Bucket=BUCKET, Prefix="stackgen/")["Versions"]) == 8

    update = _run(project, endpoint, "deploy", "--env", "local", "--nested", "--yes",
                  "--set", "asg.max_size=4")
    assert update.returncode == 0, update.stdout + update.stderr
    assert "uploaded 1 of 8" in update.stdout
    modified = [line.split()[2] for line in update.stdout.splitlines()
                if line.strip().startswith("~  Modify")]
    # The root changes only its Asg child; the review descends into it.
    assert modified == ["Asg", "AutoScalingGroup"]
    assert "nested stack asg:" in update.stdout
    group = aws.autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"][0]
    assert group["MaxSize"] == 4

    gone = _run(project, endpoint, "delete", "--env", "local", "--nested", "--yes",
                "--purge-artifacts")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert aws.cloudformation.describe_stacks()["Stacks"] == []
    assert "Versions" not in aws.s3.list_object_versions(Bucket=BUCKET, Prefix="stackgen/")


def test_guard_sees_a_data_store_replaced_inside_a_child(project: Path, endpoint: Endpoint,
                                                        aws: Any) -> None:
    """The local endpoint gives no nested change sets: the child's changes are predicted
    from its templates, and the guard still stops a DB replacement."""
    assert _run(project, endpoint, "deploy", "--env", "local", "--nested", "--yes").returncode == 0
    change = ("--set", "rds.database_name=other")
    refused = _run(project, endpoint, "deploy", "--env", "local", "--nested", "--yes", *change)
    assert refused.returncode == 1
    assert "nested stack rds:" in refused.stdout
    assert "True (predicted: DBName)" in refused.stdout
    assert "guard: DbInstance (AWS::RDS::DBInstance) would be replaced" in refused.stdout
    allowed = _run(project, endpoint, "deploy", "--env", "local", "--nested", "--yes", *change,
                   "--allow-replace", "DbInstance")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert aws.rds.describe_db_instances()["DBInstances"][0]["DBName"] == "other"


def test_a_retained_alb_child_fails_the_cert_and_network_deletes_once(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """Prod-like nesting (termination_protection): the root keeps its Alb and Rds children
    (DeletionPolicy Retain); deleting the root leaves the ALB using the certificate and
    the security groups, so Cert fails ResourceInUse and Network DependencyViolation, each
    tried once (CloudFormation does not retry a failed child after its siblings)."""
    keep = ("--set", "termination_protection=true", "--no-lint")
    first = _run(project, endpoint, "deploy", "--env", "local", "--nested", "--yes", *keep)
    assert first.returncode == 0, first.stdout + first.stderr
    root = "kubenews-local-root"
    doc = json.loads(json.dumps(aws.cloudformation.get_template(StackName=root)["TemplateBody"]))
    assert "Retain" in str(doc)
    children = {k: s["StackName"] for k, s in _children(aws).items()}
    aws.cloudformation.update_termination_protection(StackName=root,
                                                     EnableTerminationProtection=False)
    aws.cloudformation.delete_stack(StackName=root)
    status = {s["StackName"]: s["StackStatus"]
              for s in aws.cloudformation.list_stacks()["StackSummaries"]
              if s["StackStatus"] != "DELETE_COMPLETE"}
    assert status[root] == "DELETE_FAILED"
    assert status[children["Cert"]] == "DELETE_FAILED"
    assert status[children["Network"]] == "DELETE_FAILED"
    assert status[children["Alb"]] == "CREATE_COMPLETE"  # retained, as on AWS
    events = aws.cloudformation.describe_stack_events(StackName=children["Cert"])["StackEvents"]
    reasons = [e.get("ResourceStatusReason", "") for e in events
               if e["ResourceStatus"] == "DELETE_FAILED"]
    assert any("in use" in r for r in reasons), reasons
    root_events = aws.cloudformation.describe_stack_events(StackName=root)["StackEvents"]
    tried = [e for e in root_events if e["LogicalResourceId"] == "Cert"
             and e["ResourceStatus"] == "DELETE_FAILED"]
    assert len(tried) == 1
