"""Errors that name the cause (issue 25): what used to end in a traceback, a silent
success or a wrong word now says what happened in one line, with a non-zero exit (2 for
bad input). Each case runs the command line in process (Click's runner), with no AWS
call: the unit guard refuses any inet socket or process these tests would open."""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli


def _no_aws(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    """No credentials, no endpoint, config files of the test's own."""
    monkeypatch.chdir(project)
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(project / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(project / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    (project / "aws-config").write_text("[profile real]\nregion = us-east-1\n")


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--no-color", *args], prog_name="stackgen")


def _one_line(result: Result) -> str:
    """The single error line, after checking there is no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --- an AWS profile that is not there ------------------------------------------------

@pytest.mark.parametrize("command", [["status", "--env", "dev"], ["plan", "--env", "dev"],
                                     ["diff", "--env", "dev"]])
def test_a_profile_typo_is_one_line_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch,
                                           command: list[str]) -> None:
    _no_aws(monkeypatch, project)
    monkeypatch.setenv("AWS_PROFILE", "raal")  # a typo of "real"
    result = _run(*command)
    line = _one_line(result)
    assert result.exit_code == 2, result.output
    assert "AWS profile 'raal' is not in ~/.aws/config" in line and "AWS_PROFILE" in line


# --- a template that cannot be read ---------------------------------------------------

def test_an_unreadable_template_is_one_line_naming_it(project: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission denied (root reads any file whatever its mode, so open stands in)."""
    _no_aws(monkeypatch, project)
    blocked = project / "templates" / "network.yaml.j2"
    real_open = builtins.open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, Path)) and Path(file).resolve() == blocked.resolve():
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    result = _run("render", "--env", "local")
    line = _one_line(result)
    assert result.exit_code == 2, result.output
    assert "network.yaml.j2: cannot be read (Permission denied)" in line
    assert "chmod u+r" in line
    assert not (project / "build").exists()


# --- a read-only build dir: only the commands that write it refuse ---------------------

@pytest.mark.parametrize("command", [["status", "--env", "local"], ["diff", "--env", "local"],
                                     ["plan", "--env", "local"],
                                     ["outputs", "--env", "local"]])
def test_read_only_build_dir_does_not_stop_commands_that_write_nothing_there(
        project: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """They go on to the AWS step (here: no local endpoint runs, exit 1), instead of
    refusing with "cannot write build/local" (exit 2)."""
    import generator.render

    _no_aws(monkeypatch, project)
    (project / "build" / "local").mkdir(parents=True)
    real_access = os.access

    def access(path: Any, mode: int) -> bool:
        return not ("build" in Path(path).parts and mode & os.W_OK) and real_access(path, mode)

    monkeypatch.setattr(generator.render.os, "access", access)
    result = _run(*command)
    line = _one_line(result)
    assert "cannot write" not in line
    assert "the local endpoint is not running" in line and result.exit_code == 1, result.output
    # deploy writes build/<env> after: it still refuses before any AWS call
    refused = _run("deploy", "--env", "local", "--yes", "--no-lint")
    assert _one_line(refused).startswith("error: cannot write build/local")
    assert refused.exit_code == 2
