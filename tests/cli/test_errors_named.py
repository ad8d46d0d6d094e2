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
    """They go on to the AWS step (here: no local endpoint runs, exit 1, 2 for diff), instead of
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
    errors_exit = 2 if command[0] == "diff" else 1  # diff: 1 means "differences" (docs/review.md)
    assert "the local endpoint is not running" in line, result.output
    assert result.exit_code == errors_exit, result.output
    # deploy writes build/<env> after: it still refuses before any AWS call
    refused = _run("deploy", "--env", "local", "--yes", "--no-lint")
    assert _one_line(refused).startswith("error: cannot write build/local")
    assert refused.exit_code == 2


# --- the deploy's forecast line shows its warnings -----------------------------------

def test_the_deploy_forecast_line_shows_each_warning_and_error_with_its_fix(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Not "forecast: 0 errors, 1 warnings" and never the warning."""
    from generator.deploy.connect import say_forecast
    from generator.forecast.model import Finding
    from generator.forecast.runner import Forecast
    from generator.ui import Console

    result = Forecast("dev", [
        Finding("F103", "rollout", "warning", "ecs", "Service", "the rollout needs a second "
                "instance", "raise asg.max_size to 2"),
        Finding("F900", "endpoint", "info", "dns", "Zone", "cannot ask the endpoint", "none")],
        checks=["F103", "F900"])
    say_forecast(Console(color=False), result)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("forecast: 0 errors, 1 warnings, 1 info")
    assert out[1:] == ["  F103 warning ecs/Service: the rollout needs a second instance; "
                       "fix: raise asg.max_size to 2"]  # info stays a count


# --- drift: what is not compared is not IN_SYNC ---------------------------------------

def test_a_stack_whose_resources_were_not_compared_reads_not_checked() -> None:
    from generator.aws.cfn import CloudFormation
    from generator.deploy.drift import detect
    from generator.review.drift import IN_SYNC, NOT_CHECKED

    class Cfn(CloudFormation):
        def __init__(self) -> None:
            super().__init__(client=None, sleep=lambda s: None)

        def detect_drift(self, stack_name: str) -> str:
            return stack_name

        def drift_status(self, detection_id: str) -> dict[str, Any]:
            return {"DetectionStatus": "DETECTION_COMPLETE", "StackDriftStatus": "IN_SYNC"}

        def resource_drifts(self, stack_name: str) -> list[dict[str, Any]]:
            rows = {"logs": [("LogGroup", "AWS::Logs::LogGroup", "NOT_CHECKED")],
                    "net": [("Group", "AWS::EC2::SecurityGroup", "IN_SYNC"),
                            ("Handle", "AWS::CloudFormation::WaitConditionHandle",
                             "NOT_CHECKED")]}[stack_name]
            return [{"LogicalResourceId": i, "ResourceType": t, "StackResourceDriftStatus": s}
                    for i, t, s in rows]

    logs, net = detect(Cfn(), {"logs": "logs", "net": "net"})
    assert (logs.status, logs.not_checked) == (NOT_CHECKED, ["LogGroup (AWS::Logs::LogGroup)"])
    assert net.status == IN_SYNC and not net.resources
    assert net.not_checked == ["Handle (AWS::CloudFormation::WaitConditionHandle)"]


# --- logs: silence is said ------------------------------------------------------------

def test_logs_says_no_lines_since_and_following(project: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`logs` printed nothing at all when there were no lines; --follow said nothing
    either. The env's deployed form and its logs client are stood in for (no AWS)."""
    import types

    import generator.cli.ecs
    import generator.ecs.ops

    _no_aws(monkeypatch, project)
    polls: list[dict[str, Any]] = []

    class Logs:
        def filter_log_events(self, **kwargs: Any) -> dict[str, Any]:
            polls.append(kwargs)
            if len(polls) > 1:  # --follow: the user pressing Ctrl-C
                raise KeyboardInterrupt
            return {"events": []}

    aws = types.SimpleNamespace(client=lambda service: Logs())
    monkeypatch.setattr(generator.cli.ecs, "deployed_form", lambda *a, **k: types.SimpleNamespace(
        rendered=None, aws=types.SimpleNamespace(cfn=None, client=aws.client)))
    monkeypatch.setattr(generator.ecs.ops, "deployed",
                        lambda rendered, cfn: types.SimpleNamespace(log_group="/app/ecs"))
    quiet = _run("logs", "--env", "local", "--since", "2h")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == ""
    assert quiet.stderr.startswith("no lines since 20") and \
        quiet.stderr.rstrip().endswith("(2h ago) in log group /app/ecs")
    following = _run("logs", "--env", "local", "--follow")
    assert following.exit_code == 0, following.output
    assert following.stderr.startswith("following log group /app/ecs from 20")
    assert "(10m ago); Ctrl-C to stop" in following.stderr
