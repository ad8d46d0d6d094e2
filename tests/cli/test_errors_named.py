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
from tests.conftest import run_stackgen


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


# --- status: a rolled-back update is usable, and why it rolled back -------------------

def test_status_shows_a_rolled_back_update_as_usable_with_its_root_cause(
        endpoint: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """UPDATE_ROLLBACK_COMPLETE is a stack that works as before the update (AWS's "last
    known stable state"): not ✗, and the failed update's cause from DescribeEvents."""
    import contextlib
    import json
    import time

    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    from generator import run_report
    from generator.aws.cfn import CloudFormation
    from generator.ui import Console
    from tests.conftest import clients, reset

    reset(endpoint.url)
    c = clients(endpoint.url)
    cluster = {"Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "app"}}}
    c.cloudformation.create_stack(StackName="app-ecs",
                                  TemplateBody=json.dumps({"Resources": cluster}))
    # An update adding a service whose capacity provider the cluster lacks: ECS refuses it.
    cs = c.cloudformation.create_change_set(
        StackName="app-ecs", ChangeSetName="add-service", ChangeSetType="UPDATE",
        TemplateBody=json.dumps({"Resources": {
        **cluster,
        "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "web", "Cpu": "256", "Memory": "512",
            "ContainerDefinitions": [{"Name": "web", "Image": "nginx:1", "Essential": True}]}},
        "Service": {"Type": "AWS::ECS::Service", "DependsOn": "Cluster", "Properties": {
            "Cluster": "app", "TaskDefinition": {"Ref": "TaskDef"}, "DesiredCount": 1,
            "CapacityProviderStrategy": [{"CapacityProvider": "nope", "Weight": 1}]}}}}))
    with contextlib.suppress(ClientError, ResponseParserError):
        c.cloudformation.execute_change_set(ChangeSetName=cs["Id"])
    for _ in range(50):
        status = c.cloudformation.describe_stacks(StackName="app-ecs")["Stacks"][0]["StackStatus"]
        if not status.endswith("IN_PROGRESS"):
            break
        time.sleep(0.1)
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    cfn = CloudFormation(c.cloudformation, sleep=lambda s: None)
    names = {"ecs": "app-ecs"}
    deployed = cfn.describe_many(list(names.values()))
    console = Console(color=False)
    run_report.status_table(console, names, deployed)
    run_report.rollbacks(console, cfn, names, deployed)
    out = capsys.readouterr().out
    assert "✗" not in out and "↺ UPDATE_ROLLBACK_COMPLETE (usable)" in out
    assert "ecs: the last update was rolled back; the stack works as it did before it" in out
    assert "Why: Service (AWS::ECS::Service): The specified capacity provider" in out, out


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
