"""Issue 10, defects 4, 5, 7, 9, 10, 11 and parts of 12: what a first deploy to a real
account needs that the local endpoint cannot show (TLS to PostgreSQL, a delegated zone,
DB settings of standalone tasks, blue/green traffic and rollback alarms, the password
rotation design, the nested form's stack policy, NAT per AZ, the engine version)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from generator.aws.cfn import CloudFormation
from generator.aws.cfn_types import StackInfo
from generator.config import Environment
from generator.deploy.engine import Deployer
from generator.deploy.preflight import (
    NestedZoneRefused,
    ZoneNotDelegated,
    check_delegation,
    refuse_nested,
)
from generator.deploy.stack_work import DeployOptions
from generator.local.manager import Endpoint
from generator.params import load_env
from generator.references import Lookups
from generator.render import Rendered, nested_view, render
from generator.review.risk import Templates
from generator.ui import Console
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT, aws_env, run_stackgen
from tests.stubs import offline_client


def _render(env: str, *overrides: str) -> Rendered:
    return render(load_env(ROOT / "params", env, overrides), ROOT / "templates")


def _resources(r: Rendered, stack: str) -> dict[str, Any]:
    return dict(load_cfn(r.stacks[stack].template)["Resources"])


def _env_vars(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


# --- 4: TLS to PostgreSQL 15+ ------------------------------------------------------


@pytest.mark.parametrize("env", ["local", "dev", "prod", "fargate"])
def test_the_app_is_told_to_use_tls_and_the_db_keeps_requiring_it(env: str) -> None:
    r = _render(env)
    task = _resources(r, "ecs")["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert _env_vars(task)["DB_SSL_REQUIRE"] == "true"
    db = _resources(r, "rds")["DbInstance"]["Properties"]
    # The engine's default parameter group, whose rds.force_ssl is 1 from 15 on.
    assert "DBParameterGroupName" not in db
    assert int(r.env.config.rds.engine_version.split(".")[0]) >= 15


def test_an_engine_that_accepts_plaintext_by_default_is_refused(project: Path) -> None:
    result = run_stackgen(["render", "--env", "local", "--set", "rds.engine_version=14"],
                          cwd=project)
    assert result.returncode == 2 and "rds.engine_version" in result.stderr
    assert "Traceback" not in result.stderr


# --- 12: engine version, NAT per AZ, alarms ----------------------------------------


def test_engine_version_is_the_major_and_minor_upgrades_apply() -> None:
    r = _render("prod")
    db = _resources(r, "rds")["DbInstance"]["Properties"]
    assert r.stacks["rds"].parameters["DbEngineVersion"] == "16"
    assert db["AutoMinorVersionUpgrade"] is True


def test_prod_has_a_nat_gateway_per_az_and_each_private_subnet_routes_through_its_own() -> None:
    res = _resources(_render("prod"), "network")
    nats = {k: v for k, v in res.items() if v["Type"] == "AWS::EC2::NatGateway"}
    assert sorted(nats) == ["NatGateway", "NatGateway2"]
    assert {n["Properties"]["SubnetId"]["Ref"] for n in nats.values()} == {
        "PublicSubnet1", "PublicSubnet2"}
    tables = {res[f"PrivateSubnet{i}RouteTableAssociation"]["Properties"]["RouteTableId"]["Ref"]
              for i in (1, 2)}
    assert tables == {"PrivateRouteTable", "PrivateRouteTable2"}
    routes = {res[f"PrivateDefaultRoute{s}"]["Properties"]["NatGatewayId"]["Ref"]
              for s in ("", "2")}
    assert routes == {"NatGateway", "NatGateway2"}


def test_a_single_nat_gateway_stays_selectable_with_the_same_ids() -> None:
    res = _resources(_render("prod", "network.nat_gateways=single"), "network")
    assert [k for k, v in res.items() if v["Type"] == "AWS::EC2::NatGateway"] == ["NatGateway"]
    assert res["PrivateSubnet2RouteTableAssociation"]["Properties"]["RouteTableId"] == {
        "Ref": "PrivateRouteTable"}


def test_alarms_without_a_topic_are_named_in_the_review_and_prod_notifies() -> None:
    local = _render("local")
    new = load_cfn(local.stacks["alb"].template)
    findings = Templates({}, new, {}, {}, "us-east-1").findings()
    assert any(f.startswith("Target5xxAlarm: alarm notifies no one") for f in findings)
    prod = _resources(_render("prod"), "alb")["Target5xxAlarm"]["Properties"]
    assert prod["AlarmActions"] == [prod_topic()]
    assert not Templates({}, load_cfn(_render("prod").stacks["alb"].template), {}, {},
                         "us-east-1").findings()


def prod_topic() -> str:
    topic = load_env(ROOT / "params", "prod").config.alarms.topic_arn
    assert topic is not None
    return topic


# --- 7: standalone tasks get the service's DB settings -----------------------------


def test_standalone_tasks_get_the_same_db_settings_and_password_as_the_service() -> None:
    res = _resources(_render("dev"), "ecs")
    service = res["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    db_keys = {"DB_HOST", "DB_PORT", "DB_DATABASE", "DB_SSL_REQUIRE"}
    for task in ("Migrate", "Report"):
        container = res[f"{task}TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
        env = _env_vars(container)
        assert {k: env[k] for k in db_keys} == {k: _env_vars(service)[k] for k in db_keys}
    # The report task logs in as the app; migrations as the master (issue 13, gap 3).
    report = res["ReportTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert report["Secrets"] == service["Secrets"]
    migrate = res["MigrateTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert migrate["Secrets"] == [
        {"Name": "DB_PASSWORD", "ValueFrom": {"Fn::Sub": "${DbSecretArn}:password::"}},
        {"Name": "DB_USERNAME", "ValueFrom": {"Fn::Sub": "${DbSecretArn}:username::"}}]
    # dev's own values stay on top of the shared ones.
    assert _env_vars(service)["LOG_LEVEL"] == "debug"


def test_a_task_may_opt_out_of_the_db_settings() -> None:
    res = _resources(_render("dev", "ecs.tasks.report.database=false"), "ecs")
    container = res["ReportTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert "Environment" not in container and "Secrets" not in container


# --- 10: the DB password does not rotate behind the running tasks ------------------


@pytest.mark.parametrize("env", ["local", "dev", "prod", "fargate"])
def test_the_db_password_is_a_generated_secret_without_automatic_rotation(env: str) -> None:
    res = _resources(_render(env), "rds")
    assert "ManageMasterUserPassword" not in res["DbInstance"]["Properties"]
    assert res["DbSecret"]["Type"] == "AWS::SecretsManager::Secret"
    assert not [k for k, v in res.items() if v["Type"] == "AWS::SecretsManager::RotationSchedule"]


# --- 9: blue/green ---------------------------------------------------------------


def test_blue_green_request_scaling_tracks_both_target_groups() -> None:
    r = _render("fargate")
    assert "RequestCountLabel" not in r.stacks["ecs"].parameters
    policy = _resources(r, "ecs")["RequestScalingPolicy"]["Properties"]
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    groups = {d["Value"]["Ref"] for m in spec["Metrics"] if "MetricStat" in m
              for d in m["MetricStat"]["Metric"]["Dimensions"] if d["Name"] == "TargetGroup"}
    assert groups == {"TargetGroupFullName", "AlternateTargetGroupFullName"}
    returned = [m for m in spec["Metrics"] if m["ReturnData"]]
    assert len(returned) == 1 and "requests1" in returned[0]["Expression"] \
        and "requests2" in returned[0]["Expression"]
    assert r.stacks["ecs"].parameters["AlternateTargetGroupFullName"] == {
        "From": "alb.AlternateTargetGroupFullName"}


def test_rolling_request_scaling_keeps_the_predefined_metric() -> None:
    policy = _resources(_render("prod"), "ecs")["RequestScalingPolicy"]["Properties"]
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    assert spec["PredefinedMetricType"] == "ALBRequestCountPerTarget"


@pytest.mark.parametrize("env", ["local", "prod", "fargate"])
def test_the_5xx_alarm_fails_and_rolls_back_deployments(env: str) -> None:
    r = _render(env)
    config = _resources(r, "ecs")["Service"]["Properties"]["DeploymentConfiguration"]
    assert config["Alarms"] == {"AlarmNames": [{"Ref": "Target5xxAlarmName"}],
                                "Enable": True, "Rollback": True}
    assert r.stacks["ecs"].parameters["Target5xxAlarmName"] == {"From": "alb.Target5xxAlarmName"}
    outputs = load_cfn(r.stacks["alb"].template)["Outputs"]
    assert outputs["Target5xxAlarmName"]["Value"] == {"Ref": "Target5xxAlarm"}


def test_review_flags_an_update_of_the_production_listener_rule() -> None:
    alb = load_cfn(_render("fargate").stacks["alb"].template)
    changed = json.loads(json.dumps(alb))
    changed["Resources"]["ProductionRule"]["Properties"]["Priority"] = 2
    findings = Templates(alb, changed, {}, {}, "us-east-1").findings()
    assert [f for f in findings if f.startswith("ProductionRule: updating this weighted rule")]
    # Creating it, or leaving it alone, is no finding.
    assert not [f for f in Templates({}, alb, {}, {}, "us-east-1").findings()
                if f.startswith("ProductionRule")]
    assert not [f for f in Templates(alb, alb, {}, {}, "us-east-1").findings()
                if f.startswith("ProductionRule")]


# --- 5: a created zone is delegated before its certificate starts -----------------


def test_the_certificate_has_its_own_stack_after_the_zone() -> None:
    r = _render("dev")
    assert r.graph.stacks["cert"].upstream == ("dns",)
    assert "cert" in r.graph.stacks["alb"].upstream
    assert "Certificate" not in _resources(r, "dns")
    outputs = load_cfn(r.stacks["dns"].template)["Outputs"]
    assert outputs["NameServers"]["Value"] == {
        "Fn::Join": [",", {"Fn::GetAtt": ["HostedZone", "NameServers"]}]}


def test_a_parent_zone_in_the_account_gets_the_delegation_record() -> None:
    res = _resources(_render("dev", "dns.zone.parent_zone_id=Z0PARENT"), "dns")
    ns = res["Delegation"]["Properties"]
    assert ns["HostedZoneId"] == "Z0PARENT" and ns["Type"] == "NS"
    assert ns["Name"] == "dev.example.com"
    assert ns["ResourceRecords"] == {"Fn::GetAtt": ["HostedZone", "NameServers"]}
    assert "Delegation" not in _resources(_render("dev"), "dns")


def _cfg(*overrides: str) -> Environment:
    return load_env(ROOT / "params", "dev", overrides).config


def _route53() -> Any:
    return offline_client("route53")


ZONES = {"IsTruncated": False, "MaxItems": "10", "DNSName": "dev.example.com"}
NS = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]


def _zone(zone_id: str, name: str) -> dict[str, Any]:
    return {"Id": f"/hostedzone/{zone_id}", "Name": name, "CallerReference": "x",
            "Config": {"PrivateZone": False}}


def _get_zone(zone_id: str, name: str) -> dict[str, Any]:
    return {"HostedZone": _zone(zone_id, name), "DelegationSet": {"NameServers": NS}}


def _ns_records(name: str, values: list[str]) -> dict[str, Any]:
    return {"ResourceRecordSets": [{"Name": name, "Type": "NS", "TTL": 172800,
                                    "ResourceRecords": [{"Value": v + "."} for v in values]}],
            "IsTruncated": False, "MaxItems": "1"}


def test_preflight_refuses_a_created_zone_that_nothing_delegates() -> None:
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("list_hosted_zones_by_name", {**ZONES, "HostedZones": []})
        with pytest.raises(ZoneNotDelegated) as err:
            check_delegation(_cfg(), client, "dev", starts_certificate=True)
    message = str(err.value)
    assert "zone dev.example.com is not delegated" in message and "\n" not in message
    assert "stackgen deploy --env dev --stack dns" in message
    assert "dns.zone.delegated: true" in message
    assert err.value.exit_code == 1


def test_preflight_names_the_parent_zone_it_finds_in_the_account() -> None:
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("list_hosted_zones_by_name",
                          {**ZONES, "HostedZones": [_zone("ZPARENT", "example.com.")]})
        with pytest.raises(ZoneNotDelegated, match=r"set dns\.zone\.parent_zone_id: ZPARENT"):
            check_delegation(_cfg(), client, "dev", starts_certificate=True)


def test_preflight_checks_the_parent_lists_the_zones_name_servers() -> None:
    client = _route53()
    cfg = _cfg("dns.zone.parent_zone_id=ZPARENT")
    with Stubber(client) as stub:
        stub.add_response("get_hosted_zone", _get_zone("ZPARENT", "example.com."))
        stub.add_response("get_hosted_zone", _get_zone("ZCHILD", "dev.example.com."))
        stub.add_response("list_resource_record_sets", _ns_records("dev.example.com.", NS[:1]))
        with pytest.raises(ZoneNotDelegated, match=r"does not list ns-2\.awsdns-02\.com"):
            check_delegation(cfg, client, "dev", starts_certificate=True, zone_id="ZCHILD")
    with Stubber(client) as stub:  # delegated: passes
        stub.add_response("get_hosted_zone", _get_zone("ZPARENT", "example.com."))
        stub.add_response("get_hosted_zone", _get_zone("ZCHILD", "dev.example.com."))
        stub.add_response("list_resource_record_sets", _ns_records("dev.example.com.", NS))
        check_delegation(cfg, client, "dev", starts_certificate=True, zone_id="ZCHILD")
        stub.assert_no_pending_responses()


def test_preflight_refuses_a_parent_zone_id_of_another_zone() -> None:
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("get_hosted_zone", _get_zone("ZOTHER", "other.org."))
        with pytest.raises(ZoneNotDelegated, match=r"is zone other\.org, not the parent"):
            check_delegation(_cfg("dns.zone.parent_zone_id=ZOTHER"), client, "dev", True)


def test_preflight_asks_nothing_when_no_certificate_starts_or_the_zone_is_not_created() -> None:
    client = _route53()
    with Stubber(client) as stub:  # no response queued: any call would fail
        check_delegation(_cfg(), client, "dev", starts_certificate=False)
        check_delegation(load_env(ROOT / "params", "prod").config, client, "prod", True)
        stub.assert_no_pending_responses()


def test_delegated_true_trusts_the_user_about_the_zone_the_dns_stack_holds() -> None:
    client = _route53()
    with Stubber(client) as stub:  # the parent is not in the account: the user's word
        stub.add_response("list_hosted_zones_by_name", {**ZONES, "HostedZones": []})
        check_delegation(_cfg("dns.zone.delegated=true"), client, "dev", True, zone_id="ZCHILD")
        stub.assert_no_pending_responses()


def test_deploy_refuses_before_any_stack_when_the_created_zone_is_not_delegated(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    zone = ["--set", "dns.zone.name=sub.stackgen.test", "--set",
            "dns.domain=kubenews.sub.stackgen.test", "--set", "dns.zone.create=true"]
    result = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes", *zone],
                          cwd=project, env=aws_env(endpoint))
    assert result.returncode == 1, result.stdout + result.stderr
    parent = aws.route53.list_hosted_zones_by_name(DNSName="stackgen.test")["HostedZones"][0]
    parent_id = parent["Id"].rsplit("/", 1)[-1]
    assert f"set dns.zone.parent_zone_id: {parent_id}" in result.stderr
    assert aws.cloudformation.describe_stacks()["Stacks"] == []
    # The zone alone may go first: no certificate starts.
    alone = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes", "--stack", "dns",
                          *zone], cwd=project, env=aws_env(endpoint))
    assert alone.returncode == 0, alone.stdout + alone.stderr


# --- issue 27: a created zone is checked by id; the nested form never makes a second one


def test_the_check_is_on_the_zone_the_dns_stack_holds_not_a_namesake() -> None:
    """A retained zone of the same name (the parent delegates to it) does not vouch for
    the zone the dns stack holds now: the parent must list the latter's name servers."""
    client = _route53()
    cfg = _cfg("dns.zone.parent_zone_id=ZPARENT")
    with Stubber(client) as stub:
        stub.add_response("get_hosted_zone", _get_zone("ZPARENT", "example.com."))
        stub.add_response("get_hosted_zone", {**_get_zone("ZNEW", "dev.example.com."),
                                              "DelegationSet": {"NameServers": ["ns-9.new."]}})
        stub.add_response("list_resource_record_sets", _ns_records("dev.example.com.", NS))
        with pytest.raises(ZoneNotDelegated, match=r"does not list ns-9\.new"):
            check_delegation(cfg, client, "dev", True, zone_id="ZNEW")
        stub.assert_no_pending_responses()


def test_delegated_true_is_refused_when_the_dns_stack_would_make_a_new_zone() -> None:
    """Re-create after delete: the zone was retained, the dns stack is gone; with
    delegated: true the create would make a second zone nobody delegates."""
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("list_hosted_zones_by_name", {**ZONES, "HostedZones": []})
        stub.add_response("list_hosted_zones_by_name", {
            **ZONES, "HostedZones": [_zone("ZKEPT", "dev.example.com.")]})
        with pytest.raises(ZoneNotDelegated) as err:
            check_delegation(_cfg("dns.zone.delegated=true"), client, "dev", True)
    message = str(err.value)
    assert "delegated is true but the dns stack holds no zone" in message
    assert "dns.zone.id: ZKEPT and create: false" in message and "\n" not in message


def test_delegated_true_with_the_parent_in_the_account_is_still_checked() -> None:
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("list_hosted_zones_by_name",
                          {**ZONES, "HostedZones": [_zone("ZPARENT", "example.com.")]})
        stub.add_response("get_hosted_zone", _get_zone("ZCHILD", "dev.example.com."))
        stub.add_response("list_resource_record_sets", {"ResourceRecordSets": [],
                                                        "IsTruncated": False, "MaxItems": "1"})
        with pytest.raises(ZoneNotDelegated, match="does not list"):
            check_delegation(_cfg("dns.zone.delegated=true"), client, "dev", True,
                             zone_id="ZCHILD")


def test_nested_form_of_a_hand_delegated_created_zone_is_refused() -> None:
    with pytest.raises(NestedZoneRefused) as err:
        refuse_nested(_cfg(), "dev")
    assert err.value.exit_code == 2 and "second zone" in str(err.value)
    refuse_nested(_cfg("dns.zone.parent_zone_id=ZPARENT"), "dev")  # the child delegates
    refuse_nested(load_env(ROOT / "params", "prod").config, "prod")  # an existing zone


@pytest.mark.parametrize("command", [["deploy", "--yes"], ["plan"]])
def test_nested_deploy_and_plan_of_dev_are_refused_before_any_aws_call(
        project: Path, command: list[str]) -> None:
    # No credentials and no endpoint: the refusal comes before any AWS call.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = run_stackgen(["--no-color", command[0], "--env", "dev", "--nested", *command[1:]],
                          cwd=project, env={**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "a root deployed after the zone alone would create a second zone" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "build" / "dev").exists()


# --- 11: the nested form protects its stateful children ----------------------------


def _denied(policy: str) -> set[str]:
    return {r.split("/", 1)[1] for st in json.loads(policy)["Statement"]
            if st["Effect"] == "Deny" for r in st["Resource"]}


def test_nested_prod_protects_its_stateful_children_in_root_and_child_policies() -> None:
    """SetStackPolicy as AWS takes it (Stubber): moto stores policies but enforces none."""
    rendered = _render("prod")
    root = rendered.root.stack_name
    child = {n: f"arn:aws:cloudformation:us-east-1:222222222222:stack/{root}-{n}-X/1"
             for n in ("Network", "Alb", "Rds", "Ecs")}
    client = offline_client("cloudformation")
    sent: dict[str, str] = {}
    with Stubber(client) as stub:
        def expect_policy(name: str) -> None:
            stub.add_response("set_stack_policy", {},
                              {"StackName": name, "StackPolicyBody": ANY})

        expect_policy(root)
        stub.add_response("list_stack_resources", {"StackResourceSummaries": [
            {"LogicalResourceId": n, "PhysicalResourceId": arn,
             "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "CREATE_COMPLETE",
             "LastUpdatedTimestamp": datetime(2026, 11, 28, tzinfo=UTC)}
            for n, arn in child.items()]}, {"StackName": root})
        # Children in render order. Issue 13: the audit trail (flow logs in network,
        # access logs in alb) is data too.
        for n in ("Network", "Alb", "Rds", "Ecs"):
            expect_policy(child[n])
        client.meta.events.register(
            "provide-client-params.cloudformation.SetStackPolicy",
            lambda params, **_: sent.update({params["StackName"]: params["StackPolicyBody"]}))
        deployer = Deployer(nested_view(rendered), CloudFormation(client), Lookups(None),
                            Console(color=False), lambda q: True,
                            DeployOptions(commit="x", nested=True, children=rendered))
        info = StackInfo(name=root, stack_id="x", status="CREATE_COMPLETE", parameters={},
                         outputs={}, tags={}, last_change=None, termination_protection=True)
        deployer.protect(root, info)
        stub.assert_no_pending_responses()
    # The root denies replacing or deleting the children holding data ...
    assert {"Network", "Alb", "Rds", "Ecs"} <= _denied(sent[root])
    assert "Dns" not in _denied(sent[root])
    # ... and each such child denies it for its own data stores.
    assert _denied(sent[child["Network"]]) == {"FlowLogGroup"}
    assert _denied(sent[child["Alb"]]) == {"AccessLogsBucket"}
    assert _denied(sent[child["Rds"]]) == {"DbInstance", "DbSecret", "AppDbSecret"}
    assert _denied(sent[child["Ecs"]]) == {"LogGroup"}
    doc = load_cfn(rendered.root.template)["Resources"]
    assert doc["Rds"]["DeletionPolicy"] == doc["Rds"]["UpdateReplacePolicy"] == "Retain"
    assert "DeletionPolicy" not in doc["Dns"]


def test_nested_envs_without_protection_keep_children_deletable() -> None:
    doc = load_cfn(_render("local").root.template)["Resources"]
    assert all("DeletionPolicy" not in child for child in doc.values())


def test_a_created_repository_is_where_every_task_takes_the_image_from() -> None:
    """Issue 27: repository.create made the repository but the tasks still pulled from
    docker.io; now they use the cluster stack's RepositoryUri with the image's tag."""
    r = _render("dev", "ecs.repository.create=true")
    assert r.graph.stacks["ecs"].upstream.count("cluster") == 1
    doc = load_cfn(r.stacks["ecs"].template)
    assert "RepositoryUri" in doc["Parameters"] and "Image" not in doc["Parameters"]
    assert r.stacks["ecs"].parameters["ImageTag"] == ":v2"
    assert r.stacks["ecs"].parameters["RepositoryUri"] == {"From": "cluster.RepositoryUri"}
    images = {k: v["Properties"]["ContainerDefinitions"][0]["Image"]
              for k, v in doc["Resources"].items() if v["Type"] == "AWS::ECS::TaskDefinition"}
    assert set(images) >= {"TaskDefinition", "WorkerTaskDefinition", "MigrateTaskDefinition"}
    assert all(i == {"Fn::Sub": "${RepositoryUri}${ImageTag}"} for i in images.values())
    digest = "sha256:" + "a" * 64
    pinned = _render("dev", "ecs.repository.create=true", f"ecs.container.image_digest={digest}")
    assert pinned.stacks["ecs"].parameters["ImageTag"] == "@" + digest
    plain = load_cfn(_render("dev").stacks["ecs"].template)
    assert plain["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0][
        "Image"] == {"Ref": "Image"}
