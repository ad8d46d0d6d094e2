"""Issue 22, 8: the secret forms that leaked into build/ or the review, each refused in
params (or masked where it can only be shown), and never repeated in an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import secrets
from generator.errors import ParamsError
from generator.params import load_env
from generator.review.plan import Plan, StackPlan, tag_changes
from generator.review.plan_report import markdown, show_plan
from generator.ui import Console
from tests.helpers.secret_forms import PLANTED, SECRET

HEX_KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
WORKLOADS: dict[str, Any] = {
    "tasks": {"migrate": {"command": ["true"]}},
    "jobs": {"report": {"command": ["true"], "schedule": "rate(1 day)"}},
    "services": {"worker": {}},
}

# (form, key path, value, the secret part that must never be shown)
FORMS: list[tuple[str, tuple[str, ...], Any, str]] = [
    ("short password under DB_AUTH", ("ecs", "container", "environment", "DB_AUTH"), SECRET, SECRET),
    ("URL password with '/'", ("ecs", "container", "environment", "APP_DB"),
     "postgres://app:pa/ss9@db.internal/app", "pa/ss9"),
    ("--password X in a command string", ("ecs", "tasks", "migrate", "command"),
     ["sh", "-c", f"psql --password {SECRET} -c 'select 1'"], SECRET),
    ("-pX in a command string", ("ecs", "tasks", "migrate", "command"),
     ["sh", "-c", f"mysql -u app -p{SECRET} app < schema.sql"], SECRET),
    ("-pX as an argument", ("ecs", "tasks", "migrate", "command"),
     ["mysqldump", f"-p{SECRET}", "app"], SECRET),
    ("64-char hex key", ("ecs", "container", "environment", "SIGNING"), HEX_KEY, HEX_KEY),
    ("SSH_KEY", ("ecs", "container", "environment", "SSH_KEY"), "AAAAC3NzaC1lZDI1", "AAAAC3NzaC1lZDI1"),
    ("a passphrase of words", ("ecs", "tasks", "migrate", "command"),
     ["sh", "-c", "gpg --batch --passphrase 'correct horse battery staple' -d x.gpg"],
     "correct horse battery staple"),
    ("?token= in a health-check path", ("alb", "target_group", "health_check", "path"),
     f"/health?token={SECRET}", SECRET),
    ("a job's REPORT_AUTH", ("ecs", "jobs", "report", "environment", "REPORT_AUTH"), SECRET, SECRET),
    ("a service's API_TOKEN", ("ecs", "services", "worker", "environment", "API_TOKEN"), SECRET,
     SECRET),
    ("NODE_OPTIONS=... --db-pass X", ("ecs", "container", "environment", "NODE_OPTIONS"),
     f"--max-old-space-size=200 --db-pass {SECRET}", SECRET),
    ("starts like an ARN", ("ecs", "container", "environment", "DB_PASSWORD"),
     f"arn:aws:x {SECRET}", SECRET),
    ("starts like a dynamic reference", ("ecs", "container", "environment", "API_TOKEN"),
     f"{{{{resolve:x}}}}{SECRET}", SECRET),
    ("starts like ${...}", ("ecs", "container", "environment", "API_TOKEN"), f"${{X}}{SECRET}",
     SECRET),
]


def _write(project: Path, path: tuple[str, ...], value: Any) -> None:
    file = project / "params" / "local.yaml"
    data = yaml.safe_load(file.read_text())
    if path[0] == "ecs" and path[1] in WORKLOADS:
        data.setdefault("ecs", {})[path[1]] = json.loads(json.dumps(WORKLOADS[path[1]]))
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    file.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(("form", "path", "value", "secret"), FORMS, ids=[f[0] for f in FORMS])
def test_each_form_is_refused_in_params(project: Path, form: str, path: tuple[str, ...],
                                        value: Any, secret: str) -> None:
    _write(project, path, value)
    with pytest.raises(ParamsError) as err:
        load_env(project / "params", "local")
    message = str(err.value)
    assert "holds a secret value" in message and "\n" not in message
    assert secret not in message
    owner = ".".join(path[:3]) if path[1] in WORKLOADS else None
    if owner and "environment" in path:
        # A secret in a job's environment is told to move to that job's secrets.
        assert f"move it to {owner}.secrets." in message


@pytest.mark.parametrize("value", [
    "https://example.com:8443/x?email=a@b.com", "mkdir -p /tmp/cache", "ssh -p 22 host",
    "1c745f7e0d7a4c2b9f3e6a8d5b1c0e9f8a7b6c5d", "--max-old-space-size=200",
    "/health?verbose=1", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
    "{{resolve:ssm:/app/key}}", "${DbPassword}",
    "docker run -p8080:80 mysql", "mysql app; ssh -p22 host",  # -p of another command
])
def test_values_that_stay_allowed(value: str) -> None:
    assert secrets.secret_value(value) is None


@pytest.mark.parametrize("name", ["AUTH_PROVIDER", "AUTH_MODE", "SSH_KEY_PATH", "OAUTH_CLIENT_ID"])
def test_names_that_stay_allowed(name: str) -> None:
    assert not secrets.secret_name(name)


def test_a_private_key_block_is_a_secret() -> None:
    found = secrets.secret_value("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END")
    assert found is not None and found[0] == "a private key"


def test_deployed_tags_are_masked_by_name_in_plan_text_markdown_json_and_diff(
        capsys: pytest.CaptureFixture[str]) -> None:
    tags = tag_changes({"api_token": PLANTED, "owner": "ana"},
                       {"api_token": "x", "owner": "bob"})  # the function diff prints too
    assert {t.key: (t.old, t.new) for t in tags} == {"api_token": (secrets.MASK, secrets.MASK),
                                                     "owner": ("ana", "bob")}
    stack = StackPlan(stack="ecs", stack_name="kubenews-local-ecs", state="update",
                      template_sha256="x", tags=tags)
    plan = Plan(env="local", created_at="now", stacks=[stack])
    show_plan(Console(color=False), plan, diff=True)
    for kind, text in {"json": plan.to_json(), "markdown": markdown(plan),
                       "text": capsys.readouterr().out}.items():
        assert PLANTED not in text, kind
        assert "api_token" in text and "bob" in text, kind
