"""One secret test (generator/secrets.py) for params, lint E9101 and every plan output."""

from __future__ import annotations

import json
import random
import string

import pytest

from generator import secrets
from generator.aws.cfn_types import Change, ChangeSet
from generator.params import load_env
from generator.render import render
from generator.review.plan import Plan, StackPlan, param_changes, resource_changes, template_diff
from generator.review.plan_report import markdown, show_plan
from generator.review.risk import Templates
from generator.ui import Console
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT
from tests.helpers.secrets import _SECRET_URL, PLANTED


@pytest.mark.parametrize("name", [
    "DB_PASSWORD", "DB_PWD", "DB_PASS", "db-passwd", "dbPassword", "DBPASSWORD", "API_KEY",
    "apiKey", "GITHUB_TOKEN", "authToken", "CLIENT_SECRET", "AWS_SECRET_ACCESS_KEY",
    "Credentials", "ConnectionString", "DATABASE_URL", "REDIS_URL", "sentry_dsn", "password",
])
def test_secret_names(name: str) -> None:
    assert secrets.secret_name(name)


@pytest.mark.parametrize("name", [
    "http_tokens", "HttpTokens", "PWD", "bypass", "PASSTHROUGH", "DbSecretArn",
    "secretsmanager_arn", "TOKEN_TTL", "SecretStringTemplate", "HOME_URL", "LOG_LEVEL",
    "master_username", "DB_HOST",
])
def test_names_that_are_not_secret(name: str) -> None:
    assert not secrets.secret_name(name)


@pytest.mark.parametrize(("value", "reason"), [
    ("postgres://u:pw@h/db", "credentials in a URL"),
    ("amqp://app:hunter2@mq.internal:5672/", "credentials in a URL"),
    ("--db-password=abc123", "a secret in '--db-password='"),
    ("env DB_PASS=abc123 npm start", "a secret in 'DB_PASS='"),
    ("q8Zr2LmX9vTb4NwY7kPs3HdJ", "a high-entropy string"),
])
def test_secret_values(value: str, reason: str) -> None:
    found = secrets.secret_value(value)
    assert found is not None and found[0] == reason


@pytest.mark.parametrize("value", [
    "postgres://db.internal/app", "https://${User}:${Password}@host/x",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
    "{{resolve:secretsmanager:db:SecretString:password}}",
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
    "nginx@sha256:" + "0123456789abcdef" * 4, "sha256:" + "0123456789abcdef" * 4,
    "1c745f7e0d7a4c2b9f3e6a8d5b1c0e9f8a7b6c5d", "ami-0123456789abcdef0",
    "docker.io/pedroheeger/curso116_kube-news:v2", "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "AmazonEC2ContainerServiceforEC2Role", "ECSServiceAverageCPUUtilization",
    "ECS_CLUSTER=kubenews-prod", "01234567-89ab-cdef-0123-456789abcdef", "--log-level=debug",
])
def test_values_that_are_not_secret(value: str) -> None:
    assert secrets.secret_value(value) is None


def test_entropy_threshold_catches_random_tokens() -> None:
    """The thresholds against random tokens of the shapes secrets have (seeded)."""
    rng = random.Random(13)
    alnum = string.ascii_letters + string.digits
    shapes = {  # prefix, alphabet, length
        "20 alphanumerics": ("", alnum, 20),
        "40 base64 (an AWS secret key)": ("", alnum + "+/", 40),
        "ghp_ + 36 (a GitHub token)": ("ghp_", alnum, 36),
        "20 with symbols (a password)": ("", alnum + "!#$%&*?~^-_", 20),
    }
    for shape, (prefix, alphabet, length) in shapes.items():
        tokens = [prefix + "".join(rng.choice(alphabet) for _ in range(length))
                  for _ in range(2000)]
        caught = sum(map(secrets.high_entropy, tokens)) / len(tokens)
        assert caught >= 0.97, shape


@pytest.mark.parametrize("env", ENVS)
def test_nothing_shipped_looks_secret(env: str) -> None:
    """No false positive on any rendered template or parameters file of any env."""
    rendered = render(load_env(ROOT / "params", env), ROOT / "templates")
    for name, stack in rendered.stacks.items():
        assert list(secrets.scan(load_cfn(stack.template))) == [], name
        assert list(secrets.scan(stack.parameters)) == [], name


def test_a_hit_never_shows_its_value() -> None:
    [hit] = secrets.scan({"DB_PWD": "hunter2"})
    assert "hunter2" not in repr(hit) and "hunter2" not in str(hit)


def test_http_tokens_can_be_set() -> None:
    """asg.http_tokens matched the old name-only test and could not be set at all."""
    env = load_env(ROOT / "params", "local", ["asg.http_tokens=optional"])
    assert env.config.asg.http_tokens == "optional"
    assert load_env(ROOT / "params", "local", ["rds.password=secret"]).config.rds.password \
        == "secret"


def _task(env: list[dict[str, str]], command: list[str]) -> dict[str, object]:
    return {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": [
        {"Name": "web", "Image": "nginx", "Environment": env, "Command": command}]}}


OLD = {"Resources": {"Task": _task([{"Name": "DB_PWD", "Value": PLANTED},
                                    {"Name": "LOG_LEVEL", "Value": "info"}],
                                   ["npm", f"--db-password={PLANTED}"])}}
NEW = {"Resources": {"Task": _task([{"Name": "APP_DB", "Value": _SECRET_URL},
                                    {"Name": "LOG_LEVEL", "Value": "debug"}],
                                   ["npm", "--password", PLANTED])}}


def _plan() -> Plan:
    old_text, new_text = json.dumps(OLD, indent=2), json.dumps(NEW, indent=2)
    templates = Templates(OLD, NEW, {}, {}, "us-east-1")
    before, after = (json.dumps({"Properties": t["Resources"]["Task"]["Properties"]})
                     for t in (OLD, NEW))
    # AWS's Before/AfterContext; and, for a resource the templates do not show, its Details.
    change = Change(action="Modify", logical_id="Task", resource_type="AWS::ECS::TaskDefinition",
                    replacement="True", before=before, after=after)
    details = Change(action="Modify", logical_id="Other", resource_type="AWS::ECS::Service",
                     details=({"Target": {"Name": "DbPassword", "BeforeValue": PLANTED,
                                          "AfterValue": "x"}},))
    change_set = ChangeSet(id="cs", name="cs", stack_name="s", stack_id="s", kind="UPDATE",
                           status="CREATE_COMPLETE", changes=(change, details))
    stack = StackPlan(
        stack="ecs", stack_name="kubenews-local-ecs", state="update", template_sha256="x",
        parameters=param_changes({"AppSeed": PLANTED, "DbPass": "old"},
                                 {"AppSeed": "short", "DbPass": PLANTED, "Image": "nginx"},
                                 set()),
        resources=resource_changes(change_set, templates),
        template_diff=template_diff(old_text, new_text))
    return Plan(env="local", created_at="now", stacks=[stack])


def test_a_planted_secret_never_shows_in_plan_json_markdown_or_text(
        capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan()
    show_plan(Console(color=False), plan, diff=True)
    artefacts = {"json": plan.to_json(), "markdown": markdown(plan),
                 "text": capsys.readouterr().out}
    for kind, text in artefacts.items():
        assert PLANTED not in text, kind
        assert secrets.MASK in text, kind
    # The review still says what changed: names and non-secret values stay.
    assert "LOG_LEVEL" in artefacts["text"] and "debug" in artefacts["json"]
    assert '"new": "nginx"' in artefacts["json"]
