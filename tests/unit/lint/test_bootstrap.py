"""templates/bootstrap/ci-roles.yaml (issue 22, item 4): the OIDC trust of the plan and
deploy roles pinned to the repository's pull requests and to one GitHub environment,
least privilege for each, cfn-lint and stackgen's rules clean, and the deploy role in
step with what the rendered templates create."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.lint.bootstrap import failures, lint, main
from generator.params import load_env
from generator.render import render
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT

TEMPLATE = ROOT / "templates" / "bootstrap" / "ci-roles.yaml"
OIDC = "token.actions.githubusercontent.com"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return load_cfn(TEMPLATE.read_text())


def _statements(doc: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every statement of the managed policies attached to ``role``."""
    return [s for r in doc["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"
            and {"Ref": role} in r["Properties"]["Roles"]
            for s in r["Properties"]["PolicyDocument"]["Statement"]]


def _actions(stmts: list[dict[str, Any]], effect: str = "Allow") -> set[str]:
    out: set[str] = set()
    for s in stmts:
        if s["Effect"] == effect:
            out |= set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    return out


def _sub(value: Any) -> str:
    return str(value["Fn::Sub"]) if isinstance(value, dict) else str(value)


def test_it_passes_cfn_lint_and_stackgen_s_rules() -> None:
    found = lint([TEMPLATE])
    assert failures(found) == []
    # The two E9101 suppressions (an OIDC claim's name) carry their reason.
    assert all(f.suppressed for f in found)


def test_a_missing_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(TEMPLATE.with_name("absent.yaml"))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent.yaml" in err


@pytest.mark.parametrize(("role", "subject"), [
    ("PlanRole", "repo:${Repository}:pull_request"),
    ("DeployRole", "repo:${Repository}:environment:${EnvName}"),
])
def test_each_role_trusts_one_oidc_subject_and_sts_audience(
        doc: dict[str, Any], role: str, subject: str) -> None:
    [stmt] = doc["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "Federated" in stmt["Principal"] and set(stmt["Principal"]) == {"Federated"}
    # StringEquals, not StringLike: no wildcard subject (any branch, any environment)
    assert set(stmt["Condition"]) == {"StringEquals"}
    cond = stmt["Condition"]["StringEquals"]
    assert cond[f"{OIDC}:aud"] == "sts.amazonaws.com"
    assert _sub(cond[f"{OIDC}:sub"]) == subject


def test_the_ci_roles_are_outside_the_env_prefix_they_may_change(doc: dict[str, Any]) -> None:
    """Else the deploy role could rewrite its own policy (iam:PutRolePolicy on the env's
    roles); an explicit Deny holds even so."""
    for role in ("PlanRole", "DeployRole"):
        assert _sub(doc["Resources"][role]["Properties"]["RoleName"]).startswith("stackgen-ci-")
    deny = [s for s in _statements(doc, "DeployRole") if s["Effect"] == "Deny"]
    assert any(_sub(s["Resource"]).endswith(":role/stackgen-ci-*") for s in deny)


def test_the_plan_role_reads_and_makes_change_sets_only(doc: dict[str, Any]) -> None:
    stmts = _statements(doc, "PlanRole")
    actions = _actions(stmts)
    assert {"cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
            "cloudformation:DeleteChangeSet", "cloudformation:GetTemplate"} <= actions
    writes = {"cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet",
              "cloudformation:DetectStackDrift"}
    for action in actions - writes:
        verb = action.split(":")[1]
        assert verb.startswith(("Describe", "Get", "List", "Validate")), action
    assert "secretsmanager:GetSecretValue" not in actions
    assert not {a for a in actions if a.startswith(("iam:", "s3:Put", "s3:Delete"))}
    # Change sets of the env's stacks only
    cfn = next(s for s in stmts if "cloudformation:CreateChangeSet" in s["Action"])
    assert _sub(cfn["Resource"]).endswith(":stack/${Project}-${EnvName}-*/*")


def test_the_deploy_role_passes_the_env_s_roles_to_their_services_only(
        doc: dict[str, Any]) -> None:
    stmts = _statements(doc, "DeployRole")
    passes = [s for s in stmts if s["Effect"] == "Allow" and "iam:PassRole" in
              (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    assert len(passes) == 1
    assert _sub(passes[0]["Resource"]).endswith(":role/${Project}-${EnvName}-*")
    assert "iam:PassedToService" in passes[0]["Condition"]["StringEquals"]
    assert "secretsmanager:GetSecretValue" not in _actions(stmts)
    assert "cloudformation:ExecuteChangeSet" in _actions(stmts)
    attach = next(s for s in stmts if s["Action"] == "iam:AttachRolePolicy")
    assert "iam:PolicyARN" in attach["Condition"]["ArnEquals"]


def _rendered_roles() -> list[dict[str, Any]]:
    roles = []
    for env in ENVS:
        for stack in render(load_env(ROOT / "params", env), ROOT / "templates").stacks.values():
            for res in load_cfn(stack.template).get("Resources", {}).values():
                if res["Type"] == "AWS::IAM::Role":
                    roles.append(res["Properties"])
    return roles


def test_the_deploy_role_covers_the_roles_every_env_renders(doc: dict[str, Any]) -> None:
    """Every service a rendered role trusts may receive it, every managed policy a
    rendered role attaches may be attached: nothing more, nothing missing."""
    stmts = _statements(doc, "DeployRole")
    passes = next(s for s in stmts if s.get("Sid") == "PassTheEnvsRolesToTheirServices")
    attach = next(s for s in stmts if s.get("Sid") == "AttachTheTemplatesManagedPolicies")
    roles = _rendered_roles()
    services = {r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
                for r in roles}
    assert services == set(passes["Condition"]["StringEquals"]["iam:PassedToService"])
    managed = {_sub(a) for r in roles for a in r.get("ManagedPolicyArns", [])}
    allowed = {_sub(a) for a in attach["Condition"]["ArnEquals"]["iam:PolicyARN"]}
    assert managed == allowed


def test_it_is_documented() -> None:
    text = (ROOT / "docs" / "ci.md").read_text()
    assert "templates/bootstrap/ci-roles.yaml" in text
    assert Path(ROOT / ".github" / "workflows" / "plan-review.yml").read_text().count(
        "templates/bootstrap/ci-roles.yaml") == 1
