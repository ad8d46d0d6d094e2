"""Params: merging, overrides, defaults from the reference deployment, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.config import fargate_size_problem
from generator.params import deep_merge, list_envs, load_env, parse_set
from generator.schema import params_schema
from tests.conftest import ENVS, ROOT, run_stackgen


def test_shipped_envs() -> None:
    assert list_envs(ROOT / "params") == sorted(ENVS)


def test_env_file_deep_merges_over_base() -> None:
    env = load_env(ROOT / "params", "local")
    assert env.config.project == "kubenews"  # from base
    assert env.config.dns.domain == "kubenews.stackgen.test"  # from local
    assert env.config.ecs.container.image == "docker.io/pedroheeger/curso116_kube-news:v2"
    assert [p.name for p in env.files] == ["base.yaml", "local.yaml"]


def test_set_overrides_win_and_are_typed() -> None:
    env = load_env(ROOT / "params", "local", ["asg.max_size=5", "ecs.service.desired_count=2",
                                              "ecs.service.autoscaling.enabled=false"])
    assert env.config.asg.max_size == 5
    assert env.config.ecs.service.desired_count == 2
    assert parse_set("alb.ingress_cidrs=[10.0.0.0/8]") == (("alb", "ingress_cidrs"), ["10.0.0.0/8"])


def test_lists_are_replaced_not_appended() -> None:
    assert deep_merge({"a": {"l": [1, 2], "k": 1}}, {"a": {"l": [3]}}) == {"a": {"l": [3], "k": 1}}


def test_better_defaults_of_the_reference_deployment() -> None:
    cfg = load_env(ROOT / "params", "local").config
    assert cfg.asg.http_tokens == "required"
    assert cfg.asg.volume.type == "gp3" and cfg.asg.volume.encrypted
    assert cfg.asg.instance_type == "t3.micro"
    assert (cfg.asg.min_size, cfg.asg.max_size, cfg.asg.desired_capacity) == (1, 3, 1)
    assert cfg.rds.storage_type == "gp3" and cfg.rds.storage_encrypted
    # The major only: AutoMinorVersionUpgrade keeps the minor orderable (issue 10, 12).
    assert cfg.rds.engine_version == "16"
    # A secret nobody rotates behind the running tasks' back (issue 10, 10).
    assert cfg.rds.password == "secret"
    assert cfg.alb.http_redirect and cfg.alb.ssl_policy.startswith("ELBSecurityPolicy-TLS13")
    assert cfg.ecs.service.deployment.max_percent == 200
    assert cfg.ecs.service.deployment.circuit_breaker and cfg.ecs.service.deployment.rollback
    assert cfg.ecs.container.secrets["DB_PASSWORD"].db_password
    assert cfg.ecs.container_insights == "enabled"


def test_prod_is_protected() -> None:
    cfg = load_env(ROOT / "params", "prod").config
    assert cfg.termination_protection
    assert cfg.rds.multi_az and cfg.rds.deletion_protection
    assert cfg.rds.backup_retention_days >= 30


@pytest.mark.parametrize(("cpu", "memory", "ok"), [
    (256, 512, True), (256, 2048, True), (256, 4096, False), (512, 1024, True),
    (1024, 3072, True), (1024, 1024, False), (300, 512, False), (16384, 122880, True),
])
def test_fargate_sizes(cpu: int, memory: int, ok: bool) -> None:
    assert (fargate_size_problem(cpu, memory) is None) is ok


def test_schema_file_is_current() -> None:
    shipped = json.loads((ROOT / "params" / "schema.json").read_text())
    assert shipped == json.loads(json.dumps(params_schema())), "run `make schema`"


def test_params_files_point_editors_at_the_schema() -> None:
    for path in (ROOT / "params").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=./schema.json"), path


def test_schema_command_prints_json(project: Path) -> None:
    result = run_stackgen(["schema"], cwd=project)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "asg" in schema["properties"] and schema["title"] == "stackgen params"


def test_readme_params_reference_is_current() -> None:
    from generator.schema import with_reference

    readme = (ROOT / "README.md").read_text()
    assert with_reference(readme) == readme, "run `make docs`"
