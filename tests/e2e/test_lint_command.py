"""`stackgen lint` as a process: every shipped template clean, exit codes, ARN wildcards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.lint.engine import Linter
from tests.conftest import ENVS, run_stackgen
from tests.helpers.lint import (
    _targets,
)


@pytest.mark.parametrize("env", ENVS)
def test_every_shipped_template_is_clean(linter: Linter, env: str) -> None:
    """Zero errors and zero warnings for every stack and the nested root, with env values."""
    targets = _targets(env)
    assert {t.stack for t in targets} >= {"network", "dns", "alb", "rds", "ecs", "nested-root"}
    findings = linter.lint(targets)
    assert [f for f in findings if not f.suppressed] == []


def test_cli_exit_codes(project: Path) -> None:
    ok = run_stackgen(["lint", "--env", "local", "--format", "json"], cwd=project)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == []
    alb = project / "templates" / "alb.yaml.j2"
    alb.write_text(alb.read_text().replace("{% if view.http_redirect %}", "{% if false %}"))
    bad = run_stackgen(["lint", "--env", "local"], cwd=project)
    assert bad.returncode == 1
    assert "E9108" in bad.stdout and "local/alb" in bad.stdout
    usage = run_stackgen(["lint"], cwd=project)
    assert usage.returncode == 2 and "name an env with --env" in usage.stderr


def test_lint_refuses_every_secret_of_every_account(project: Path) -> None:
    """The issue's "done when": exit 2, one line, before any template is linted."""
    result = run_stackgen(["lint", "--env", "local", "--no-cache", "--set",
                           'ecs.container.secrets.ALL={secretsmanager_arn: '
                           '"arn:aws:secretsmanager:*:*:secret:*"}'], project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "secretsmanager_arn" in result.stderr and "Traceback" not in result.stderr

