"""The shipped GitHub workflows (issue 22, item 4), parsed and held to docs/ci.md:
per-job permissions, actions pinned by commit, no token left on disk, the lock
installed before any role, the apply job checking the plan's run and signature, no
hard-coded --approve-broadening, no expression inside a script."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
# owner/repo[/path]@<40 hex> # vX.Y.Z
PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$")


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


def _jobs(path: Path) -> dict[str, dict[str, Any]]:
    return dict(_load(path)["jobs"])


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _uses(step: dict[str, Any]) -> str:
    return str(step.get("uses", "")).split("@")[0]


def test_the_workflows_are_there() -> None:
    assert {p.name for p in WORKFLOWS} >= {"lint.yml", "plan-review.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_workflow_token_reads_contents_only(path: Path) -> None:
    assert _load(path).get("permissions") == {"contents": "read"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_says_what_its_token_may_do(path: Path) -> None:
    for name, job in _jobs(path).items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{path.name}: job {name} has no permissions of its own"
        assert "write-all" not in perms.values()
        # A job that assumes an AWS role holds no write token to the repository, and
        # the job that writes to the pull request assumes no role.
        if perms.get("id-token") == "write":
            assert not {k for k, v in perms.items() if v == "write"} - {"id-token"}, name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_tag(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        assert PINNED.match(line), f"{path.name}: not pinned by a 40-hex commit: {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_keeps_no_token(path: Path) -> None:
    checkouts = [s for job in _jobs(path).values() for s in _steps(job)
                 if _uses(s) == "actions/checkout"]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_dependencies_come_from_the_lock_before_any_role(path: Path) -> None:
    for name, job in _jobs(path).items():
        steps = _steps(job)
        runs = [str(s.get("run", "")) for s in steps]
        assert not any(re.search(r"\bpip3? install\b", r) for r in runs), name
        roles = [i for i, s in enumerate(steps) if _uses(s) == CONFIGURE_AWS]
        stackgen = [i for i, r in enumerate(runs) if ".venv/bin/" in r]
        installs = [i for i, r in enumerate(runs) if r.strip() == "make install"]
        if roles or stackgen:
            assert installs, f"job {name} runs the tool without `make install`"
            assert installs[0] < min(roles + stackgen), f"job {name} installs too late"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_script(path: Path) -> None:
    """Matrix values, event fields and the like reach a script through env: only; the
    shell never sees them as code."""
    for name, job in _jobs(path).items():
        for step in _steps(job):
            assert "${{" not in str(step.get("run", "")), f"job {name}: {step.get('name')}"
            assert "${{" not in str(step.get("with", {}).get("script", "")), name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_nothing_approves_broadening_for_the_reviewer(path: Path) -> None:
    assert "--approve-broadening" not in "\n".join(
        str(s.get("run", "")) for job in _jobs(path).values() for s in _steps(job))


def test_the_plan_job_assumes_the_read_only_role_as_the_pull_request() -> None:
    jobs = _jobs(ROOT / ".github/workflows/plan-review.yml")
    plan = jobs["plan"]
    # No environment: the OIDC subject is repo:OWNER/REPO:pull_request, all the plan
    # role trusts (templates/bootstrap/ci-roles.yaml).
    assert "environment" not in plan
    assert plan["permissions"] == {"contents": "read", "id-token": "write"}
    role = next(s for s in _steps(plan) if _uses(s) == CONFIGURE_AWS)
    assert "PLAN_ROLE_" in role["with"]["role-to-assume"]
    # The comment is written by a job that runs no checkout and assumes no role.
    comment = jobs["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert not {_uses(s) for s in _steps(comment)} & {"actions/checkout", CONFIGURE_AWS}


def test_the_apply_job_checks_the_plan_s_run_and_signature() -> None:
    apply = _jobs(ROOT / ".github/workflows/plan-review.yml")["apply"]
    assert apply["environment"] == "${{ matrix.env }}"
    steps = _steps(apply)
    download = next(i for i, s in enumerate(steps) if "gh run download" in str(s.get("run")))
    role = next(i for i, s in enumerate(steps) if _uses(s) == CONFIGURE_AWS)
    assert download < role  # refused before any role is assumed
    script = str(steps[download]["run"])
    for check in ("check .event pull_request", 'check .head_sha "$pr_sha"',
                  "check .conclusion success", "check .head_repository.full_name"):
        assert check in script
    assert "set -euo pipefail" in script
    applied = next(s for s in steps if "stackgen apply" in str(s.get("run")))
    assert applied["env"]["STACKGEN_PLAN_KEY"] == "${{ secrets.STACKGEN_PLAN_KEY }}"
    assert "--sign-key-file" in applied["run"]
    plan = next(s for s in _steps(_jobs(ROOT / ".github/workflows/plan-review.yml")["plan"])
                if "stackgen plan" in str(s.get("run")))
    assert plan["env"]["STACKGEN_PLAN_KEY"] == "${{ secrets.STACKGEN_PLAN_KEY }}"
