"""Errors that name the cause, seen from the `stackgen` process (issue 25)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_stackgen

# --- as processes: a credential_process, the lint cache under lint and deploy ----------

def _process_env(project: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "AWS_CONFIG_FILE": str(project / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(project / "aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true", **extra}


@pytest.mark.parametrize(("script", "said"), [
    ("import sys; sys.stderr.write('token expired: log in again'); sys.exit(1)",
     "failed: token expired: log in again;"),
    ("import sys; sys.exit(3)", "failed: it exited non-zero and said nothing on stderr;"),
])
def test_a_failing_credential_process_says_so_with_its_message(project: Path, script: str,
                                                               said: str) -> None:
    """Not "cannot reach AWS ... Error when retrieving credentials from custom-process: "
    with an empty reason: the process failed, and this is what it said."""
    import sys

    (project / "aws-config").write_text(
        f"[profile sso]\ncredential_process = {sys.executable} -c \"{script}\"\n")
    result = run_stackgen(["--no-color", "status", "--env", "dev"], cwd=project,
                          env=_process_env(project, AWS_PROFILE="sso"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: the credential_process of AWS profile 'sso' ")
    assert said in result.stderr and "cannot reach" not in result.stderr


def _entries(project: Path) -> list[Path]:
    return sorted((project / ".stackgen" / "lint-cache").glob("*.json"))


def test_a_corrupt_lint_cache_never_raises_and_no_cache_rebuilds_it(project: Path) -> None:
    """lint and deploy's lint gate read past a corrupt entry (invalid JSON); `lint
    --no-cache` reads none of it and writes every entry afresh."""
    from generator.lint.engine import read_cache_entry

    env = _process_env(project, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    warm = run_stackgen(["--no-color", "lint", "--env", "local"], cwd=project, env=env)
    assert warm.returncode == 0, warm.stdout + warm.stderr
    entries = _entries(project)
    assert entries

    def corrupt() -> None:
        for entry in entries:
            entry.write_text("{")

    corrupt()
    rebuilt = run_stackgen(["--no-color", "lint", "--env", "local", "--no-cache"], cwd=project,
                           env=env)
    assert rebuilt.returncode == 0 and "Traceback" not in rebuilt.stderr, rebuilt.stderr
    assert all(read_cache_entry(e, e.stem) is not None for e in entries)  # repaired

    corrupt()
    # deploy's lint gate reads the cache too; it gets past it to the endpoint step (no
    # local endpoint answers here: one line, not a JSONDecodeError).
    deploy = run_stackgen(["--no-color", "deploy", "--env", "local", "--yes", "--no-forecast"],
                          cwd=project, env=env)
    assert "Traceback" not in deploy.stderr and "JSONDecodeError" not in deploy.stderr
    assert deploy.returncode == 1, deploy.stdout + deploy.stderr
    assert deploy.stderr.strip().splitlines()[-1].startswith("error: the env has target: local")
    # Each stack deploys linted again and its entry written whole (the nested form's root,
    # which a flat deploy does not lint, keeps its corrupt entry, to be read past later).
    valid = [e for e in entries if read_cache_entry(e, e.stem) is not None]
    assert len(valid) == len(entries) - 1

