"""The alb stack's view and template (generator/views/alb.py): access logs and their
delivery, the web ACL, the target group."""

from __future__ import annotations

import pytest

from tests.helpers.rendered import _render, _resources

# --- gap 5: an audit trail in prod-like envs ----------------------------------------------


def test_prod_keeps_load_balancer_access_logs_in_a_private_retained_bucket() -> None:
    res = _resources(_render("prod"), "alb")
    bucket = res["AccessLogsBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    statements = res["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deliver = statements[0]
    # us-east-1 opened before August 2022: the regional ELB account delivers.
    assert deliver["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::127311923021:root"}}
    assert deliver["Action"] == "s3:PutObject"
    assert deliver["Resource"] == {"Fn::Sub": "${AccessLogsBucket.Arn}/alb/AWSLogs/${AWS::AccountId}/*"}
    assert statements[1]["Effect"] == "Deny"
    assert statements[1]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lb = res["LoadBalancer"]
    attrs = {a["Key"]: a["Value"] for a in lb["Properties"]["LoadBalancerAttributes"]}
    assert attrs["access_logs.s3.enabled"] == "true"
    assert attrs["access_logs.s3.bucket"] == {"Ref": "AccessLogsBucket"}
    assert lb["DependsOn"] == "AccessLogsBucketPolicy"


def test_newer_regions_deliver_as_the_service_principal() -> None:
    zones = 'network.availability_zones=["ap-southeast-5a", "ap-southeast-5b"]'
    res = _resources(_render("prod", "region=ap-southeast-5", zones), "alb")
    deliver = res["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deliver["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}



@pytest.mark.parametrize(("region", "account"), [
    ("ap-southeast-3", "589379963580"), ("us-gov-west-1", "048591011584"),
    ("us-gov-east-1", "190560391635")])
def test_jakarta_and_govcloud_deliver_as_their_documented_elb_account(
        region: str, account: str) -> None:
    """Issue 27: the ELB user guide's table lists them; without an entry the policy named
    the service principal, which those Regions' log delivery does not use."""
    zones = f'network.availability_zones=["{region}a", "{region}b"]'
    res = _resources(_render("prod", f"region={region}", zones), "alb")
    deliver = res["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deliver["Principal"] == {
        "AWS": {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{account}:root"}}


@pytest.mark.parametrize("env", ["local", "dev", "fargate"])
def test_envs_that_are_not_prod_like_have_no_audit_resources_unless_asked(env: str) -> None:
    r = _render(env)
    assert "AccessLogsBucket" not in _resources(r, "alb")
    assert "FlowLog" not in _resources(r, "network")
    asked = _render(env, "alb.access_logs.enabled=true", "network.flow_logs.enabled=true")
    assert "AccessLogsBucket" in _resources(asked, "alb")
    assert "FlowLog" in _resources(asked, "network")


def test_a_web_acl_is_associated_when_given() -> None:
    acl = "arn:aws:wafv2:us-east-1:222222222222:regional/webacl/kubenews/abc"
    assert "WebAclAssociation" not in _resources(_render("prod"), "alb")
    res = _resources(_render("prod", f"waf.web_acl_arn={acl}"), "alb")
    assert res["WebAclAssociation"]["Properties"] == {
        "ResourceArn": {"Ref": "LoadBalancer"}, "WebACLArn": acl}


def test_target_group_marks_targets_healthy_fast_and_drains_briefly() -> None:
    tg = _resources(_render("local"), "alb")["TargetGroup"]["Properties"]
    assert tg["HealthCheckIntervalSeconds"] * tg["HealthyThresholdCount"] <= 30
    assert tg["TargetGroupAttributes"] == [
        {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}]
    tuned = _resources(_render("local", "alb.target_group.health_check.interval_seconds=20",
                               "alb.target_group.deregistration_delay_seconds=90"),
                       "alb")["TargetGroup"]["Properties"]
    assert tuned["HealthCheckIntervalSeconds"] == 20
    assert tuned["TargetGroupAttributes"][0]["Value"] == "90"

