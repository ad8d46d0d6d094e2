"""Secrets through the commands: params hiding a secret are refused, a secret given with
--set is not echoed, a secret deployed earlier never shows in a plan artefact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.local.manager import Endpoint
from tests.conftest import aws_env, run_stackgen
from tests.helpers.secrets import _SECRET_URL, PLANTED

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

