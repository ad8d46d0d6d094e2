"""Render: files written, determinism, chaining declarations, nested root, graph."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.context import conditions
from generator.errors import GraphError
from generator.graph import build_graph, load_spec, to_mermaid
from generator.params import load_env
from generator.render import render
from generator.yamlsrc import CfnOutline, cfn_outline, load_cfn
from tests.conftest import ENVS, ROOT


def _render(env: str, *overrides: str):  # type: ignore[no-untyped-def]
    return render(load_env(ROOT / "params", env, overrides), ROOT / "templates")


@pytest.mark.parametrize("env", ENVS)
def test_render_is_byte_identical(env: str) -> None:
    a, b = _render(env), _render(env)
    assert {n: s.template for n, s in a.stacks.items()} == {n: s.template for n, s in b.stacks.items()}
    assert a.root.template == b.root.template
    assert a.manifest() == b.manifest()


def test_short_form_tags_are_kept() -> None:
    text = _render("local").stacks["alb"].template
    assert "!Ref VpcId" in text and "!GetAtt LoadBalancer.DNSName" in text and "!Sub " in text


def test_no_secret_reaches_a_rendered_file() -> None:
    for env in ENVS:
        r = _render(env)
        for s in [*r.stacks.values(), r.root]:
            assert "MasterUserPassword: \"" not in s.template
            assert "hunter2" not in s.template + s.params_json


def test_db_password_reaches_the_container_as_a_secret() -> None:
    ecs = load_cfn(_render("local").stacks["ecs"].template)
    container = ecs["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert {e["Name"] for e in container["Environment"]} >= {"DB_HOST", "DB_DATABASE"}
    assert not {"DB_PASSWORD", "DB_USERNAME"} & {e["Name"] for e in container["Environment"]}
    # The app's own login (issue 13, gap 3), never the master one.
    assert container["Secrets"] == [
        {"Name": "DB_PASSWORD", "ValueFrom": {"Fn::Sub": "${AppDbSecretArn}:password::"}},
        {"Name": "DB_USERNAME", "ValueFrom": {"Fn::Sub": "${AppDbSecretArn}:username::"}}]
    rds = load_cfn(_render("local", "rds.password=managed").stacks["rds"].template)
    assert rds["Resources"]["DbInstance"]["Properties"]["ManageMasterUserPassword"] is True


def test_secret_mode_generates_a_secret_resource() -> None:
    rds = load_cfn(_render("local", "rds.password=secret").stacks["rds"].template)
    assert rds["Resources"]["DbSecret"]["Type"] == "AWS::SecretsManager::Secret"
    assert "resolve:secretsmanager" in str(rds["Resources"]["DbInstance"]["Properties"])
    assert rds["Outputs"]["DbSecretArn"]["Value"] == {"Ref": "DbSecret"}


def test_fargate_env_has_no_asg_and_reads_task_group_from_network() -> None:
    r = _render("fargate")
    assert "asg" not in r.stacks
    assert r.graph.stacks["rds"].upstream == ("network",)
    task = load_cfn(r.stacks["ecs"].template)["Resources"]["TaskDefinition"]["Properties"]
    assert task["NetworkMode"] == "awsvpc" and task["RequiresCompatibilities"] == ["FARGATE"]


def test_placement_and_capacity_provider_reach_the_service() -> None:
    dev = load_cfn(_render("dev").stacks["ecs"].template)["Resources"]
    svc = dev["Service"]["Properties"]
    assert svc["PlacementStrategies"] == [
        {"Type": "spread", "Field": "attribute:ecs.availability-zone"},
        {"Type": "binpack", "Field": "memory"}]
    assert svc["PlacementConstraints"] == [
        {"Type": "memberOf", "Expression": "attribute:ecs.instance-type =~ t3.*"}]
    # Per-task roles: each standalone task reads only what its own role allows.
    migrate = dev["MigrateTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    report = dev["ReportTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert migrate[0]["Action"] == ["dynamodb:GetItem", "dynamodb:Query"]
    assert report[0]["Action"] == ["s3:PutObject"]
    prod = _render("prod")
    assert "CapacityProvider" in load_cfn(prod.stacks["asg"].template)["Resources"]
    prod_ecs = load_cfn(prod.stacks["ecs"].template)["Resources"]
    assert "CapacityProviderStrategy" in prod_ecs["Service"]["Properties"]
    assert "RequestScalingPolicy" in prod_ecs


def test_every_param_of_every_stack_has_a_value_or_source() -> None:
    for env in ENVS:
        r = _render(env)
        for s in r.stacks.values():
            declared = load_cfn(s.template).get("Parameters") or {}
            assert set(declared) == set(s.parameters), (env, s.name)
            assert all(v is not None for v in s.parameters.values()), (env, s.name)


def test_nested_root_passes_child_outputs_by_getatt() -> None:
    r = _render("local")
    root = load_cfn(r.root.template)
    alb = root["Resources"]["Alb"]["Properties"]
    assert alb["Parameters"]["VpcId"] == {"Fn::GetAtt": ["Network", "Outputs.VpcId"]}
    assert alb["Parameters"]["DomainName"] == "kubenews.stackgen.test"
    assert "/alb/" in alb["TemplateURL"]["Fn::Sub"]
    assert r.stacks["alb"].template_sha256 in alb["TemplateURL"]["Fn::Sub"]
    dns = root["Resources"]["Dns"]["Properties"]["Parameters"]
    assert dns["HostedZoneId"] == {"Ref": "DnsHostedZoneId"}
    assert set(root["Resources"]) == {"Network", "Dns", "Cluster", "Cert", "Alb", "Asg",
                                      "Rds", "Ecs"}


def test_graph_is_derived_from_declared_inputs() -> None:
    cfg = load_env(ROOT / "params", "local").config
    g = build_graph(load_spec(ROOT / "templates"), conditions(cfg), Path("stacks.yaml"))
    assert g.stacks["alb"].upstream == ("cert", "dns", "network")
    assert g.downstream("alb") == ["ecs"]
    assert g.downstream("cluster") == ["asg", "ecs"]
    assert "rds -- \"AppDbSecretArn, DbEndpoint, DbPort, DbSecretArn\" --> ecs" in to_mermaid(g)


def test_graph_cycle_names_the_chain() -> None:
    spec = {"a": {"inputs": {"X": "b.Out"}}, "b": {"inputs": {"Y": "a.Out"}}}
    with pytest.raises(GraphError, match=r"a -> b -> a|b -> a -> b"):
        build_graph(spec, frozenset(), Path("s.yaml"))


def test_blue_green_deployment_wires_two_target_groups_and_a_rule() -> None:
    r = _render("fargate")
    alb = load_cfn(r.stacks["alb"].template)
    assert alb["Resources"]["AlternateTargetGroup"]["Type"] == \
        "AWS::ElasticLoadBalancingV2::TargetGroup"
    rule = alb["Resources"]["ProductionRule"]["Properties"]
    assert [g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]] == [100, 0]
    inputs = {i.param: i.ref for i in r.graph.stacks["ecs"].inputs}
    assert inputs["AlternateTargetGroupArn"] == "alb.AlternateTargetGroupArn"
    assert inputs["ProductionListenerRuleArn"] == "alb.ProductionListenerRuleArn"
    svc = load_cfn(r.stacks["ecs"].template)["Resources"]["Service"]["Properties"]
    assert svc["DeploymentConfiguration"]["Strategy"] == "BLUE_GREEN"
    assert svc["DeploymentConfiguration"]["BakeTimeInMinutes"] == 10
    assert svc["LoadBalancers"][0]["AdvancedConfiguration"] == {
        "AlternateTargetGroupArn": {"Ref": "AlternateTargetGroupArn"},
        "ProductionListenerRule": {"Ref": "ProductionListenerRuleArn"},
        "RoleArn": {"Fn::GetAtt": ["LoadBalancerRole", "Arn"]}}
    local = load_cfn(_render("local").stacks["ecs"].template)["Resources"]
    assert "LoadBalancerRole" not in local  # rolling needs no second group nor role


# --- reading a rendered template back: the outline agrees with the full load ----------


def _outline_by_load(text: str) -> CfnOutline:
    doc = load_cfn(text)
    resources = doc.get("Resources") or {}
    return CfnOutline(tuple(doc.get("Outputs") or {}),
                      tuple(r["Type"] for r in resources.values()
                            if isinstance(r, dict) and isinstance(r.get("Type"), str)))


@pytest.mark.parametrize("env", ENVS)
def test_outline_of_every_shipped_template_is_what_the_full_load_reads(env: str) -> None:
    rendered = _render(env)
    for stack in [*rendered.stacks.values(), rendered.root]:
        outline = cfn_outline(stack.template)
        assert outline == _outline_by_load(stack.template)
        assert outline.outputs == stack.outputs
    assert "AWS::RDS::DBInstance" in cfn_outline(rendered.stacks["rds"].template).resource_types


@pytest.mark.parametrize("text", [
    "",
    "just text\n",
    "Resources:\nOutputs:\n",
    "Resources:\n  A: {Type: AWS::S3::Bucket}\n  B: {Type: !Ref T}\n  C: [1]\n  D: {Type: 12}\n"
    "  E: !If [c, {Type: x}, {Type: y}]\nOutputs:\n  Z: {Value: 1}\n  A: {Value: 2}\n",
    "Outputs:\n  X: {Value: 1}\n  Y: {Value: 2}\n  X: {Value: 3}\n",  # a repeated key
    "Outputs:\n  1: {Value: 1}\n  true: {Value: 2}\n",  # keys that are not text
    "Outputs: !Ref Odd\n",
    "Base: &b {X: {Value: 1}}\nOutputs:\n  <<: *b\n  Y: {Value: 2}\n",  # a merge key
    "Resources:\n  A: &r {Type: AWS::RDS::DBInstance}\n  B: *r\n",  # an alias
    "Outputs: [a, b]\n",
])
def test_outline_reads_odd_shapes_as_the_full_load_does(text: str) -> None:
    assert cfn_outline(text) == _outline_by_load(text)


@pytest.mark.parametrize("text", [
    "Resources:\n  A: {Type: x\n",  # syntax
    "Resources:\n  A: {Type: !!python/name:os.system x}\n",  # a tag nothing constructs
    "Outputs:\n  X: =\n",  # YAML's value key, which the safe constructor refuses too
])
def test_outline_fails_where_the_full_load_fails_and_names_the_line(text: str) -> None:
    with pytest.raises(yaml.MarkedYAMLError) as by_load:
        load_cfn(text)
    with pytest.raises(yaml.MarkedYAMLError) as by_outline:
        cfn_outline(text)
    assert by_outline.value.problem == by_load.value.problem
    assert by_outline.value.problem_mark is not None and by_load.value.problem_mark is not None
    assert by_outline.value.problem_mark.line == by_load.value.problem_mark.line


def test_nested_envs_without_protection_keep_children_deletable() -> None:
    doc = load_cfn(_render("local").root.template)["Resources"]
    assert all("DeletionPolicy" not in child for child in doc.values())



def test_a_template_edited_between_renders_is_compiled_afresh(project: Path) -> None:
    """Compiled templates are kept for the process (generator.render.COMPILED): an edit to
    a template, or to a partial it includes, shows in the next render all the same."""
    env = load_env(project / "params", "local")
    before = render(env, project / "templates")
    stack = project / "templates" / "network.yaml.j2"
    stack.write_text(stack.read_text() + "# edited stack\n")
    partials = sorted((project / "templates" / "partials").glob("*.j2"))
    partials[0].write_text(partials[0].read_text() + "{# unchanged output #}")
    after = render(env, project / "templates")
    assert "# edited stack" not in before.stacks["network"].template
    assert after.stacks["network"].template.rstrip().endswith("# edited stack")
    assert {n: s.template for n, s in after.stacks.items() if n != "network"} == \
        {n: s.template for n, s in before.stacks.items() if n != "network"}
