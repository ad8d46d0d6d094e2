"""Params: merging, overrides, defaults from the reference deployment, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.config import fargate_size_problem
from generator.errors import ParamsError
from generator.limits import dns_name_problem, ec2_instance_types, matcher_problem, rds_instance_classes
from generator.params import deep_merge, list_envs, load_env, parse_set
from generator.schema import REFERENCE_PAGE, params_schema, stale, with_reference
from generator.schema import main as schema_main
from tests.conftest import ENVS, ROOT
from tests.helpers.params import _bomb


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
    """By meaning: msgspec 0.23 dedents descriptions that older versions kept indented."""
    assert stale(ROOT / "params" / "schema.json", ROOT / REFERENCE_PAGE) == []


def test_schema_comparison_ignores_description_layout_not_meaning(tmp_path: Path) -> None:
    generated = json.loads(json.dumps(params_schema()))
    readme = tmp_path / "README.md"
    readme.write_text(with_reference("# x\n<!-- params-reference:start -->\n"
                                     "<!-- params-reference:end -->\n"))

    def indented(node: object) -> object:  # how msgspec < 0.23 wrote a docstring
        if isinstance(node, dict):
            return {k: "\n    ".join(v.split(" ")) if k == "description" and isinstance(v, str)
                    else indented(v) for k, v in node.items()}
        return [indented(v) for v in node] if isinstance(node, list) else node

    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(indented(generated), indent=2))
    assert stale(schema_file, readme) == []

    reworded = json.loads(json.dumps(generated))
    reworded["properties"]["asg"]["description"] = "something else"
    schema_file.write_text(json.dumps(reworded))
    assert stale(schema_file, readme) == [f"{schema_file} differs from the params model: "
                                          "run `make docs`"]
    del generated["properties"]["asg"]
    schema_file.write_text(json.dumps(generated))
    assert len(stale(schema_file, readme)) == 1


def test_docs_check_says_what_is_stale_in_one_line_each(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("<!-- params-reference:start -->\nold\n<!-- params-reference:end -->\n")
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(params_schema()))
    assert schema_main(["--check", str(readme), str(schema_file)]) == 1
    assert capsys.readouterr().err == (f"{readme}'s params reference differs from the params "
                                       "model: run `make docs`\n")
    assert schema_main([str(readme)]) == 0  # what `make docs` does
    assert schema_main(["--check", str(readme), str(schema_file)]) == 0
    assert capsys.readouterr().err == ""


def test_params_files_point_editors_at_the_schema() -> None:
    for path in (ROOT / "params").glob("*.yaml"):
        assert path.read_text().startswith("# yaml-language-server: $schema=./schema.json"), path


def test_alias_expansion_is_bounded(project: Path) -> None:
    (project / "params" / "local.yaml").write_text(_bomb(6))  # 531441 values if expanded
    with pytest.raises(ParamsError, match=r"local.yaml:5: 'a4.0': aliases expand to more than"):
        load_env(project / "params", "local")


def test_merge_keys_follow_the_yaml_rules(project: Path) -> None:
    (project / "params" / "local.yaml").write_text(
        "dns:\n  domain: kubenews.stackgen.test\n  zone: {name: stackgen.test}\n"
        "ecs:\n  tasks:\n"
        "    base: &base {command: [a], cpu: 512, memory_mib: 1024}\n"
        "    bigger:\n      <<: *base\n      cpu: 1024\n"  # a written key wins over a merged one
        "    imaged:\n      <<: [{image: first}, *base, {image: second}]\n")  # the first wins
    tasks = load_env(project / "params", "local").config.ecs.tasks
    assert (tasks["bigger"].cpu, tasks["bigger"].memory_mib, tasks["bigger"].command) == (1024, 1024, ["a"])
    assert tasks["imaged"].image == "first" and tasks["imaged"].cpu == 512
    assert tasks["base"].cpu == 512


def test_plain_scalars_stay_as_written_where_the_schema_wants_a_string(project: Path) -> None:
    (project / "params" / "local.yaml").write_text(
        "account_id: 012345670123\n"  # YAML 1.1 reads this as an octal number
        "dns:\n  domain: kubenews.stackgen.test\n  zone: {name: stackgen.test}\n"
        "rds:\n  engine_version: 16.10\n"  # a float would lose the trailing zero
        "alb:\n  target_group:\n    health_check: {matcher: 200, port: 8080}\n"
        "tags: {release: 1.10, public: yes, since: 2024-01-01, null: x}\n")
    cfg = load_env(project / "params", "local").config
    assert cfg.account_id == "012345670123"
    assert cfg.rds.engine_version == "16.10"
    assert cfg.alb.target_group.health_check.matcher == "200"
    assert cfg.alb.target_group.health_check.port == "8080"
    assert cfg.tags == {"owner": "platform-team", "app": "kubenews", "release": "1.10",
                        "public": "yes", "since": "2024-01-01", "null": "x"}
    assert cfg.asg.max_size == 3  # where the schema wants a number it stays one


def test_set_values_follow_the_schema() -> None:
    cfg = load_env(ROOT / "params", "local", [
        "rds.engine_version=16.13", "alb.target_group.health_check.matcher=200",
        "account_id=012345670123", "asg.max_size=4", "tags.build=007"]).config
    assert cfg.rds.engine_version == "16.13"
    assert cfg.alb.target_group.health_check.matcher == "200"
    assert cfg.account_id == "012345670123"
    assert cfg.asg.max_size == 4
    assert cfg.tags["build"] == "007"


def test_utf8_with_bom_is_accepted(project: Path) -> None:
    path = project / "params" / "local.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_env(project / "params", "local").config.dns.domain == "kubenews.stackgen.test"


def test_missing_base_file_is_refused(project: Path) -> None:
    (project / "params" / "base.yaml").unlink()
    with pytest.raises(ParamsError, match=r"params/base.yaml: file not found"):
        load_env(project / "params", "local")


# --- values AWS refuses --------------------------------------------------------------

@pytest.mark.parametrize(("name", "ok"), [
    ("app.example.com", True), ("a-b.example.com.", True), ("x" * 63 + ".test", True),
    ("-app.example.com", False), ("app-.example.com", False), ("x" * 64 + ".test", False),
    (".".join(["a" * 62] * 4) + ".test", False), ("a..test", False), ("a_b.test", False),
])
def test_dns_names(name: str, ok: bool) -> None:
    assert (dns_name_problem(name) is None) is ok


@pytest.mark.parametrize(("codes", "grpc", "ok"), [
    ("200", False, True), ("200,302", False, True), ("200-299", False, True),
    ("200-299,404", False, True), ("499", False, True), ("12", True, True), ("0-99", True, True),
    ("ok", False, False), ("200-", False, False), ("200, 302", False, False),
    ("199", False, False), ("500", False, False), ("299-200", False, False), ("", False, False),
    ("200", True, False),
])
def test_health_check_matchers(codes: str, grpc: bool, ok: bool) -> None:
    assert (matcher_problem(codes, grpc) is None) is ok


def test_instance_types_and_classes_come_from_cfn_lint_data() -> None:
    types = ec2_instance_types("us-east-1")
    classes = rds_instance_classes("us-east-1", "postgres")
    assert types and {"t3.micro", "t3.small", "m5.large"} <= types and "t3.mikro" not in types
    assert classes and {"db.t3.micro", "db.t3.small"} <= classes
    assert ec2_instance_types("xx-nowhere-1") is None  # no data: no check, not a refusal
    assert rds_instance_classes("us-east-1", "no-such-engine") is None


def test_region_slices_match_the_whole_file() -> None:
    """The fast path reads one region's part of cfn-lint's files; it must see what
    decoding the whole file sees, for every region."""
    from generator.limits import cfnlint_extensions

    base = cfnlint_extensions()
    assert base is not None
    ec2 = json.loads((base / "aws_ec2_instance" / "instancetype_enum.json").read_text())
    rds = json.loads((base / "aws_rds_dbinstance" / "dbinstanceclass_enum.json").read_text())
    for region, body in ec2.items():
        if not isinstance(body, dict):
            continue  # "description"
        assert ec2_instance_types(region) == (frozenset(body.get("enum", [])) or None), region
    for region, body in rds.items():
        if not isinstance(body, dict):
            continue
        full = {c for rule in body["allOf"]
                if rule["if"]["properties"].get("Engine", {}).get("const") == "postgres"
                for c in rule["then"]["properties"]["DBInstanceClass"].get("enum", [])}
        assert rds_instance_classes(region, "postgres") == (frozenset(full) or None), region


def test_shipped_envs_pass_the_aws_checks() -> None:
    for env in ENVS:
        load_env(ROOT / "params", env)


def test_elb_health_checks_need_instances_in_a_target_group() -> None:
    """Issue 27: the service registers its tasks, never the instances, so an ASG ELB health
    check would act as EC2; refused at params time with the key and the fix."""
    with pytest.raises(ParamsError) as err:
        load_env(ROOT / "params", "prod", ["asg.health_check_type=ELB"])
    message = str(err.value)
    assert "asg.health_check_type" in message and "set health_check_type: EC2" in message
    assert err.value.exit_code == 2
    for env in ENVS:
        cfg = load_env(ROOT / "params", env).config
        assert cfg.asg.health_check_type == "EC2" or cfg.ecs.fargate, env
