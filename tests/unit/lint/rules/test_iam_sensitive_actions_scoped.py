"""Issue 22, 6: a wildcard inside an ARN is as unscoped as a literal '*' (E9111), and a
container secret's ARN is one secret's, anchored at both ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import ParamsError
from generator.lint.engine import Finding, Linter, Target
from generator.params import load_env
from tests.conftest import ROOT

ACCOUNT = "123456789012"

TEMPLATE = """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: ecs-tasks.amazonaws.com
            Action: sts:AssumeRole
      Policies:
        - PolicyName: p
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: {action}
                Resource: {resource}
"""

UNSCOPED = [
    ("secretsmanager:GetSecretValue", '"arn:aws:secretsmanager:*:*:secret:*"'),
    ("secretsmanager:GetSecretValue", f'"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:*"'),
    ("secretsmanager:GetSecretValue", '"arn:aws:secretsmanager:us-east-1:*:secret:db-AbCdEf"'),
    ("secretsmanager:GetSecretValue", '"arn:aws:secretsmanager:*:123456789012:secret:db"'),
    ("iam:PassRole", f'"arn:aws:iam::{ACCOUNT}:role/*"'),
    ("iam:PassRole", '!Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"'),
    ("sts:AssumeRole", '"arn:aws:iam::*:role/deployer"'),
    ("sts:AssumeRole", f'["arn:aws:iam::{ACCOUNT}:role/ok", "arn:aws:iam::{ACCOUNT}:role/*"]'),
    ("ssm:GetParameters", f'"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/*"'),
    ("kms:Decrypt", f'"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"'),
    ("s3:GetObject", '"arn:aws:s3:::*"'),
    ("s3:GetObject", '"arn:*:s3:::bucket/*"'),
]

SCOPED = [
    ("secretsmanager:GetSecretValue", f'"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"'),
    ("secretsmanager:GetSecretValue", f'"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/db-*"'),
    ("iam:PassRole", '!Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app-task"'),
    ("s3:GetObject", '"arn:aws:s3:::my-bucket/logs/*"'),
    ("logs:CreateLogStream", f'"arn:aws:logs:*:{ACCOUNT}:log-group:*"'),  # not a sensitive action
]


@pytest.fixture(scope="module")
def linter() -> Linter:
    return Linter(cache_dir=None)


def _e9111(linter: Linter, action: str, resource: str) -> list[Finding]:
    text = TEMPLATE.format(action=action, resource=resource)
    found = linter.lint([Target("test", "fixture", Path("fixture.yaml"), text, {}, "us-east-1")])
    return [f for f in found if f.rule_id == "E9111"]


@pytest.mark.parametrize(("action", "resource"), UNSCOPED)
def test_a_wildcard_in_an_arns_account_region_or_name_is_unscoped(
        linter: Linter, action: str, resource: str) -> None:
    [finding] = _e9111(linter, action, resource)
    assert f"allows {action} on" in finding.message and "name the ARNs" in finding.message


@pytest.mark.parametrize(("action", "resource"), SCOPED)
def test_a_named_resource_passes(linter: Linter, action: str, resource: str) -> None:
    assert _e9111(linter, action, resource) == []


@pytest.mark.parametrize("arn", [
    "arn:aws:secretsmanager:*:*:secret:*",
    f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:*",
    f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf\\n",
    f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf trailing",
    f"xarn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db",
])
def test_a_secret_arn_is_anchored_at_both_ends(arn: str) -> None:
    with pytest.raises(ParamsError, match=r"ecs\.container\.secrets\.ALL\.secretsmanager_arn"):
        load_env(ROOT / "params", "local", [f'ecs.container.secrets.ALL={{secretsmanager_arn: "{arn}"}}'])


@pytest.mark.parametrize("arn", [
    f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/*",
    f"arn:aws:ssm:*:{ACCOUNT}:parameter/app/key",
    f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/key\\n",
])
def test_a_parameter_arn_is_anchored_at_both_ends(arn: str) -> None:
    with pytest.raises(ParamsError, match=r"ecs\.container\.secrets\.P\.ssm_parameter_arn"):
        load_env(ROOT / "params", "local", [f'ecs.container.secrets.P={{ssm_parameter_arn: "{arn}"}}'])


def test_named_secret_arns_still_load() -> None:
    cfg = load_env(ROOT / "params", "local", [
        f'ecs.container.secrets.A={{secretsmanager_arn: "arn:aws:secretsmanager:us-east-1:{ACCOUNT}:'
        'secret:db-AbCdEf:password::"}',
        f'ecs.container.secrets.B={{ssm_parameter_arn: "arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/key"}}',
    ]).config
    assert set(cfg.ecs.container.secrets) == {"A", "B"}
