"""Issue 13: the template and params gaps a scanner and a reviewer found, on the shipped envs.

Each test reads the rendered templates of the shipped params (plus an override where the
gap is about an option) and fails on the commit before its fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.params import load_env
from generator.render import Rendered
from generator.review.plan import ParamChange, Plan, StackPlan
from generator.review.report import markdown, show_review
from generator.ui import Console
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT, run_stackgen
from tests.renders import shipped

EC2_ENVS = ("local", "dev", "prod")
IMDS = "169.254.169.254"


def _render(env: str, *overrides: str) -> Rendered:
    """Shared with the file's other tests (tests/renders.py): they only read it."""
    return shipped(env, overrides)


def _resources(r: Rendered, stack: str) -> dict[str, Any]:
    res: dict[str, Any] = load_cfn(r.stacks[stack].template)["Resources"]
    return res


def _of_type(res: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in res.items() if v["Type"] == kind}


def _user_data(r: Rendered) -> str:
    lt = _resources(r, "asg")["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    text: str = lt["UserData"]["Fn::Base64"]["Fn::Sub"]
    return text


# --- gap 1: containers cannot reach the instance role ---------------------------------


@pytest.mark.parametrize("env", EC2_ENVS)
def test_containers_cannot_reach_instance_metadata(env: str) -> None:
    r = _render(env)
    lt = _resources(r, "asg")["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert lt["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert lt["MetadataOptions"]["HttpTokens"] == "required"
    data = _user_data(r)
    # Bridge tasks: the ECS guide's DOCKER-USER rule, added once Docker has started.
    assert "#cloud-boothook" in data
    rule = f"--insert DOCKER-USER 1 --in-interface docker+ --destination {IMDS}/32 --jump DROP"
    assert rule in data
    # The cluster line the ECS agent (and the local endpoint) reads is still there.
    assert "echo ECS_CLUSTER=${ClusterName} >> /etc/ecs/ecs.config" in data


def test_the_metadata_rule_is_added_after_docker_starts_never_restored_as_a_table() -> None:
    """Issue 27: a restored `*filter` table, run after dockerd, flushes Docker's chains and
    the DOCKER-USER jump; the rule goes into DOCKER-USER after Docker starts instead."""
    data = _user_data(_render("dev"))
    assert "*filter" not in data and "/etc/sysconfig/iptables" not in data
    assert "systemctl enable iptables" not in data and "iptables-restore" not in data
    boothook = data[data.index("#cloud-boothook"):data.index("#!/bin/bash")]
    drop_in = "/etc/systemd/system/docker.service.d/"
    unit = boothook[boothook.index(f"> {drop_in}"):boothook.index("\nUNIT\n")]
    # In docker.service's own unit: after each start of dockerd, restarts included.
    assert "[Service]\nExecStartPost=/bin/sh -c 'iptables -w --check DOCKER-USER" in unit
    assert "--insert DOCKER-USER 1 --in-interface docker+" in unit
    # Written, then loaded, before Docker can start with it; added at once only when
    # Docker already runs (the boothook raced it and lost).
    lines = boothook.splitlines()
    reload_at = lines.index("systemctl daemon-reload")
    assert reload_at > next(i for i, x in enumerate(lines) if x.startswith("cat <<'UNIT' >"))
    assert lines[reload_at + 1] == "if systemctl is-active --quiet docker; then"
    assert "--insert DOCKER-USER 1" in lines[reload_at + 2]


def test_awsvpc_tasks_on_ec2_are_blocked_by_the_agent() -> None:
    data = _user_data(_render("local", "ecs.network_mode=awsvpc"))
    assert "echo ECS_AWSVPC_BLOCK_IMDS=true >> /etc/ecs/ecs.config" in data
    assert "DOCKER-USER" not in data


def test_metadata_block_can_be_turned_off() -> None:
    data = _user_data(_render("local", "asg.block_container_metadata=false"))
    assert IMDS not in data and "ECS_AWSVPC_BLOCK_IMDS" not in data
    assert data.startswith("#!/bin/bash\n")


# --- gap 3: the app has a least-privilege login of its own ------------------------------


def _service_containers(r: Rendered) -> dict[str, dict[str, Any]]:
    task = _resources(r, "ecs")["TaskDefinition"]["Properties"]
    return {c["Name"]: c for c in task["ContainerDefinitions"]}


def _value_from(container: dict[str, Any]) -> dict[str, str]:
    return {s["Name"]: s["ValueFrom"]["Fn::Sub"] for s in container.get("Secrets", [])}


@pytest.mark.parametrize("env", ENVS)
def test_the_app_logs_in_with_its_own_login_not_the_master(env: str) -> None:
    r = _render(env)
    rds = load_cfn(r.stacks["rds"].template)
    secret = rds["Resources"]["AppDbSecret"]["Properties"]["GenerateSecretString"]
    assert secret["SecretStringTemplate"] == '{"username": "kubenews_app"}'
    assert rds["Outputs"]["AppDbSecretArn"]["Value"] == {"Ref": "AppDbSecret"}
    containers = _service_containers(r)
    app = containers["web"]
    assert _value_from(app) == {"DB_PASSWORD": "${AppDbSecretArn}:password::",
                                "DB_USERNAME": "${AppDbSecretArn}:username::"}
    assert "${DbSecretArn}" not in str(app)
    # The init container creates the login with the master secret; the app waits for it.
    boot = containers["db-bootstrap"]
    assert boot["Essential"] is False
    assert _value_from(boot)["PGPASSWORD"] == "${DbSecretArn}:password::"
    assert _value_from(boot)["APP_DB_PASSWORD"] == "${AppDbSecretArn}:password::"
    assert app["DependsOn"] == [{"ContainerName": "db-bootstrap", "Condition": "SUCCESS"}]
    sql = {e["Name"]: e["Value"] for e in boot["Environment"]}["BOOTSTRAP_SQL"]
    assert "NOCREATEDB NOCREATEROLE" in sql
    # RDS's master is no superuser and may not name the attribute (tests/test_local_rds.py)
    assert "SUPERUSER" not in sql
    assert "PASSWORD" not in sql  # set by \\password from stdin: no literal, no command line


def test_migrations_log_in_as_the_master() -> None:
    res = _resources(_render("dev"), "ecs")
    migrate = res["MigrateTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert _value_from(migrate)["DB_PASSWORD"] == "${DbSecretArn}:password::"


def test_an_app_login_named_like_the_master_is_refused(project: Path) -> None:
    result = run_stackgen(["render", "--env", "local", "--set", "rds.app_username=kubenews"],
                          cwd=project)
    assert result.returncode == 2
    assert "app_username" in result.stderr and "Traceback" not in result.stderr
    assert not (project / "build").exists()


# --- gap 4: egress is closed ------------------------------------------------------------


def _egress(sg: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = sg["Properties"].get("SecurityGroupEgress", [])
    return rules


NO_OP = {"IpProtocol": "-1", "CidrIp": "127.0.0.1/32"}


@pytest.mark.parametrize("env", ENVS)
def test_no_security_group_keeps_the_default_open_egress(env: str) -> None:
    r = _render(env)
    groups = {**_of_type(_resources(r, "network"), "AWS::EC2::SecurityGroup"),
              **_of_type(_resources(r, "rds"), "AWS::EC2::SecurityGroup")}
    assert set(groups) == {"AlbSecurityGroup", "AppSecurityGroup", "DbSecurityGroup"}
    for name, sg in groups.items():
        assert _egress(sg), f"{name} keeps the default allow-all egress"
        for rule in _egress(sg):
            assert not (rule["IpProtocol"] == "-1" and rule.get("CidrIp") == "0.0.0.0/0"), name


@pytest.mark.parametrize("env", ENVS)
def test_egress_is_what_each_group_needs(env: str) -> None:
    r = _render(env)
    net, rds = _resources(r, "network"), _resources(r, "rds")
    # The DB: none at all.
    assert [{k: v for k, v in rule.items() if k != "Description"}
            for rule in _egress(rds["DbSecurityGroup"])] == [NO_OP]
    # The load balancer: none inline; its rules reach the app's group alone.
    assert [{k: v for k, v in rule.items() if k != "Description"}
            for rule in _egress(net["AlbSecurityGroup"])] == [NO_OP]
    ingress = net["AppSecurityGroup"]["Properties"]["SecurityGroupIngress"][0]
    alb_rules = [e["Properties"] for e in _of_type(net, "AWS::EC2::SecurityGroupEgress").values()]
    assert [(p["GroupId"], p["DestinationSecurityGroupId"], p["FromPort"], p["ToPort"])
            for p in alb_rules] == [({"Ref": "AlbSecurityGroup"}, {"Ref": "AppSecurityGroup"},
                                     ingress["FromPort"], ingress["ToPort"])]
    # The app: HTTPS out, and the DB port to the DB's group (a rule in rds, no cycle).
    assert [(e["IpProtocol"], e["FromPort"], e["ToPort"], e["CidrIp"])
            for e in _egress(net["AppSecurityGroup"])] == [("tcp", 443, 443, "0.0.0.0/0")]
    to_db = rds["AppToDbEgress"]["Properties"]
    assert (to_db["GroupId"], to_db["DestinationSecurityGroupId"], to_db["FromPort"],
            to_db["ToPort"]) == ({"Ref": "AppSecurityGroupId"}, {"Ref": "DbSecurityGroup"},
                                 5432, 5432)


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

def test_prod_keeps_vpc_flow_logs() -> None:
    res = _resources(_render("prod"), "network")
    flow = res["FlowLog"]["Properties"]
    assert (flow["ResourceId"], flow["ResourceType"], flow["TrafficType"]) == (
        {"Ref": "Vpc"}, "VPC", "ALL")
    assert flow["LogGroupName"] == {"Ref": "FlowLogGroup"}
    assert res["FlowLogGroup"]["DeletionPolicy"] == "Retain"
    trust = res["FlowLogRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}


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


# --- gap 6: an ECR repository and deploying by digest ------------------------------------

DIGEST = "sha256:" + "ab" * 32


def test_the_repository_is_immutable_scanned_encrypted_and_kept() -> None:
    assert "Repository" not in _resources(_render("prod"), "cluster")
    r = _render("prod", "ecs.repository.create=true")
    repo = _resources(r, "cluster")["Repository"]
    assert repo["DeletionPolicy"] == "Retain"
    props = repo["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    assert load_cfn(r.stacks["cluster"].template)["Outputs"]["RepositoryUri"]


def test_the_image_is_deployed_by_digest_when_one_is_given() -> None:
    r = _render("prod", f"ecs.container.image_digest={DIGEST}")
    image = r.stacks["ecs"].parameters["Image"]
    assert image == f"docker.io/pedroheeger/curso116_kube-news@{DIGEST}"


def test_a_malformed_digest_is_refused(project: Path) -> None:
    result = run_stackgen(["render", "--env", "prod", "--set",
                           "ecs.container.image_digest=sha256:latest"], cwd=project)
    assert result.returncode == 2 and "image_digest" in result.stderr


def test_the_review_shows_the_whole_digest_change(capsys: pytest.CaptureFixture[str]) -> None:
    old = f"docker.io/pedroheeger/curso116_kube-news@sha256:{'11' * 32}"
    new = f"docker.io/pedroheeger/curso116_kube-news@{DIGEST}"
    stack = StackPlan(stack="ecs", stack_name="kubenews-prod-ecs", state="update",
                      template_sha256="x", parameters=[ParamChange(key="Image", old=old, new=new)])
    show_review(Console(color=False), stack)
    assert f"Image: {old} → {new}" in capsys.readouterr().out
    text = markdown(Plan(env="prod", created_at="2026-11-28T12:00:00Z", stacks=[stack]))
    assert f"| `Image` | {old} | {new} |" in text


# --- gap 9: hardened containers -------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_the_app_container_is_hardened_by_default(env: str) -> None:
    r = _render(env)
    app = _service_containers(r)["web"]
    assert app["ReadonlyRootFilesystem"] is True
    assert app["User"] == "1000:1000"
    linux = app["LinuxParameters"]
    assert linux["Capabilities"] == {"Drop": ["ALL"]}
    assert linux["InitProcessEnabled"] is True
    assert app["StopTimeout"] == 30
    task = _resources(r, "ecs")["TaskDefinition"]["Properties"]
    if r.env.config.ecs.fargate:
        # No tmpfs on Fargate: a task bind mount is the scratch space.
        assert task["Volumes"] == [{"Name": "scratch-tmp"}]
        assert app["MountPoints"] == [
            {"SourceVolume": "scratch-tmp", "ContainerPath": "/tmp", "ReadOnly": False}]
        assert "Tmpfs" not in linux
    else:
        assert linux["Tmpfs"] == [{"ContainerPath": "/tmp", "Size": 64,
                                   "MountOptions": ["nosuid", "nodev", "mode=1777"]}]
        assert "Volumes" not in task


def test_hardening_is_settable() -> None:
    r = _render("local", "ecs.container.read_only_root_filesystem=false", "ecs.container.user=null",
                "ecs.container.drop_capabilities=[]", "ecs.container.stop_timeout_seconds=90")
    app = _service_containers(r)["web"]
    assert app["ReadonlyRootFilesystem"] is False
    assert "User" not in app and "Capabilities" not in app["LinuxParameters"]
    assert "Tmpfs" not in app["LinuxParameters"]
    assert app["StopTimeout"] == 90


def test_ecs_exec_with_a_read_only_root_is_refused_at_params_time() -> None:
    """Issue 27: the ECS Exec page says the SSM agent needs a writable root file system
    and that readonlyRootFilesystem "isn't supported"; tmpfs for its paths was a guess."""
    from generator.errors import ParamsError

    with pytest.raises(ParamsError) as err:
        load_env(ROOT / "params", "local", ["ecs.service.enable_execute_command=true"])
    assert "ecs.service.enable_execute_command" in str(err.value)
    assert "read_only_root_filesystem: false" in str(err.value) and err.value.exit_code == 2
    r = _render("local", "ecs.service.enable_execute_command=true",
                "ecs.container.read_only_root_filesystem=false")
    web = _service_containers(r)["web"]
    assert web["ReadonlyRootFilesystem"] is False and "Tmpfs" not in web["LinuxParameters"]
