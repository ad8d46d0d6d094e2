"""One secret test (generator/secrets.py) for params, lint E9101 and every plan output."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pytest

from generator import secrets
from generator.aws.cfn_types import Change, ChangeSet
from generator.local.manager import Endpoint
from generator.params import load_env
from generator.render import render
from generator.review.plan import Plan, StackPlan, param_changes, resource_changes, template_diff
from generator.review.plan_report import markdown, show_plan
from generator.review.risk import Templates
from generator.ui import Console
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT, aws_env, run_stackgen


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


# --- params -------------------------------------------------------------------------

PLANTED = "Pl4ntedS3cretZq9XvB7"

HIDDEN = [
    ("DB_PWD", "ecs:\n  container:\n    environment:\n      DB_PWD: " + PLANTED + "\n",
     "params/local.yaml:4:", "'ecs.container.environment.DB_PWD'",
     "move it to ecs.container.secrets.DB_PWD"),
    ("DB_PASS", "ecs:\n  container:\n    environment:\n      DB_PASS: " + PLANTED + "\n",
     "params/local.yaml:4:", "'ecs.container.environment.DB_PASS'", "the name 'DB_PASS' says it is secret"),
    ("DATABASE_URL", "ecs:\n  container:\n    environment:\n      LOG_LEVEL: info\n"
     f"      APP_DB: postgres://u:{PLANTED}@h/db\n",
     "params/local.yaml:5:", "'ecs.container.environment.APP_DB'", "credentials in a URL"),
    ("command", "ecs:\n  tasks:\n    migrate:\n      command:\n        - npm\n"
     f"        - --db-password={PLANTED}\n",
     "params/local.yaml:6:", "'ecs.tasks.migrate.command[1]'",
     "reference it under ecs.tasks.migrate.secrets"),
    ("high_entropy", "ecs:\n  container:\n    environment:\n      SEED: " + PLANTED + "\n",
     "params/local.yaml:4:", "'ecs.container.environment.SEED'", "a high-entropy string"),
    ("tag", "tags:\n  deploy_token: " + PLANTED + "\n", "params/local.yaml:2:",
     "'tags.deploy_token'", "remove it from tags"),
    ("task_env", "ecs:\n  tasks:\n    migrate:\n      command: [npm]\n      environment:\n"
     "        DB_PASSWORD: " + PLANTED + "\n", "params/local.yaml:6:",
     "'ecs.tasks.migrate.environment.DB_PASSWORD'",
     "move it to ecs.tasks.migrate.secrets.DB_PASSWORD"),
]


@pytest.mark.parametrize(("case", "text", "where", "key", "hint"), HIDDEN,
                         ids=[h[0] for h in HIDDEN])
def test_params_hiding_a_secret_are_refused(project: Path, case: str, text: str, where: str,
                                            key: str, hint: str) -> None:
    (project / "params" / "local.yaml").write_text(text)
    result = run_stackgen(["render", "--env", "local"], cwd=project)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {where}") and key in line and hint in line, line
    assert PLANTED not in result.stderr + result.stdout
    assert not (project / "build").exists()


def test_a_secret_given_with_set_is_not_echoed(project: Path) -> None:
    result = run_stackgen(["render", "--env", "local", "--set",
                           f"ecs.container.environment.DB_PWD={PLANTED}"], cwd=project)
    assert result.returncode == 2
    assert PLANTED not in result.stderr and "--set ecs.container.environment.DB_PWD=****" \
        in result.stderr


def test_http_tokens_can_be_set() -> None:
    """asg.http_tokens matched the old name-only test and could not be set at all."""
    env = load_env(ROOT / "params", "local", ["asg.http_tokens=optional"])
    assert env.config.asg.http_tokens == "optional"
    assert load_env(ROOT / "params", "local", ["rds.password=secret"]).config.rds.password \
        == "secret"


# --- plan and review: masked in every output -----------------------------------------

_SECRET_URL = f"postgres://app:{PLANTED}@db.internal/app"


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


def test_a_secret_deployed_earlier_never_shows_in_any_plan_artefact(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    """On the local endpoint: a stack deployed with a secret in its task definition (by
    hand, before the checks, --no-lint) is planned back to the shipped template. The
    secret sits in the deployed template and in the change; no artefact shows it."""
    ecs = project / "templates" / "ecs.yaml.j2"
    shipped = ecs.read_text()
    anchor = "          Environment:\n"
    assert anchor in shipped
    ecs.write_text(shipped.replace(anchor, anchor + "            - Name: APP_DB\n"
                                   f'              Value: "{_SECRET_URL}"\n'
                                   "            - Name: DB_PASS\n"
                                   f'              Value: "{PLANTED}"\n', 1))
    env = aws_env(endpoint)
    deployed = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes", "--no-lint"],
                            cwd=project, env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert PLANTED in aws.cloudformation.get_template(
        StackName="kubenews-local-ecs")["TemplateBody"]
    ecs.write_text(shipped)
    text = run_stackgen(["--no-color", "plan", "--env", "local", "--diff", "--out", "plan.json",
                         "--markdown", "review.md"], cwd=project, env=env)
    assert text.returncode == 0, text.stdout + text.stderr
    as_json = run_stackgen(["--no-color", "plan", "--env", "local", "--format", "json"],
                           cwd=project, env=env)
    assert as_json.returncode == 0
    artefacts = {"text": text.stdout + text.stderr, "json": as_json.stdout,
                 "plan.json": (project / "plan.json").read_text(),
                 "review.md": (project / "review.md").read_text()}
    for kind, body in artefacts.items():
        assert "DB_PASS" in body, kind  # the change is shown ...
        assert PLANTED not in body, kind  # ... its value is not
    assert "-              Value: \"****\"" in artefacts["text"]
