"""The forecast in the review and the deploy path (issue 12): `plan` records its findings,
`deploy` and `apply` refuse its errors before any change unless --no-forecast, and what
the local endpoint cannot answer (info) never blocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.forecast.account import Account
from generator.local.manager import Endpoint
from generator.review.plan import ForecastNote, Plan
from generator.review.plan_report import markdown, show_plan
from generator.ui import Console
from tests.conftest import aws_env, clients, reset
from tests.helpers.inprocess import stackgen

# Local's service at min healthy 100%: one task per instance, one instance, so a rollout
# cannot start (F102, an error).
STUCK = ("--set", "ecs.service.deployment.min_healthy_percent=100")


def _run(project: Path, endpoint: Endpoint, *args: str) -> Any:
    return stackgen(["--no-color", *args], cwd=project, env=aws_env(endpoint))


def _stacks(aws: Any) -> list[str]:
    return [s["StackName"] for s in aws.cloudformation.describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"]


def _statuses(aws: Any) -> dict[str, str]:
    return {s["StackName"]: s["StackStatus"] for s in aws.cloudformation.describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"}


def test_deploy_refuses_forecast_errors_before_any_change(project: Path, endpoint: Endpoint,
                                                          aws: Any) -> None:
    refused = _run(project, endpoint, "deploy", "--env", "local", "--yes", *STUCK)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "forecast found 1 error(s), first ecs/Service: F102" in refused.stderr
    assert "--no-forecast" in refused.stderr and "Traceback" not in refused.stderr
    assert _stacks(aws) == [] and not (project / "build" / "local").exists()
    assert aws.cloudformation.list_change_sets(StackName="any")["Summaries"] == []


def test_plan_records_the_forecast_and_apply_gates_on_it(project: Path, endpoint: Endpoint,
                                                         aws: Any) -> None:
    result = _run(project, endpoint, "plan", "--env", "local", "--format", "json",
                  "--out", "p.json", "--markdown", "p.md", *STUCK)
    assert result.returncode == 0, result.stderr  # plan records, it does not refuse
    doc = json.loads(result.stdout)
    ids = {(f["id"], f["severity"]) for f in doc["forecast"]}
    assert ("F102", "error") in ids
    # What the endpoint cannot answer is said as info (or a warning), never an error.
    assert {s for i, s in ids if i != "F102"} <= {"info", "warning"}
    review = (project / "p.md").read_text()
    assert "**forecast: 1 error" in review and "| F102 | `ecs/Service` |" in review
    planned = _statuses(aws)  # the plan's change sets: stacks in REVIEW_IN_PROGRESS
    assert set(planned.values()) == {"REVIEW_IN_PROGRESS"}
    refused = _run(project, endpoint, "apply", "p.json", "--yes")
    assert refused.returncode == 1 and "F102" in refused.stderr, refused.stderr
    assert _statuses(aws) == planned  # no change set executed
    skipped = _run(project, endpoint, "apply", "p.json", "--yes", "--no-forecast")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "forecast skipped (--no-forecast)" in skipped.stderr
    assert set(_statuses(aws).values()) == {"CREATE_COMPLETE"} and len(_stacks(aws)) == 8


def test_a_clean_env_deploys_with_the_forecast_and_plans_without_it(
        project: Path, endpoint: Endpoint, aws: Any) -> None:
    deployed = _run(project, endpoint, "deploy", "--env", "local", "--yes")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "forecast: 0 errors" in deployed.stdout
    # Issue 28: nothing changed since, and the account's answers are a minute old: the
    # clean result is reused, no forecast call made.
    again = _run(project, endpoint, "deploy", "--env", "local", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "forecast: unchanged since " in again.stdout and "API calls" not in again.stdout
    noop = _run(project, endpoint, "plan", "--env", "local", "--format", "json", "--no-forecast")
    assert noop.returncode == 0 and json.loads(noop.stdout)["forecast"] is None


def _plan(notes: list[ForecastNote] | None) -> Plan:
    return Plan(env="dev", created_at="2026-11-28T00:00:00Z", forecast=notes)


NOTE = ForecastNote(id="F101", severity="error", stack="ecs", resource="Service",
                    message="3 desired tasks | 1 placed", fix="set asg.min_size >= 3")


def test_reviews_show_the_forecast(capsys: Any) -> None:
    show_plan(Console(False), _plan([NOTE]), diff=False)
    out = capsys.readouterr().out
    assert "forecast: 1 error, 0 warning, 0 info; `apply` refuses" in out
    assert "error F101 ecs/Service: 3 desired tasks | 1 placed" in out
    assert "fix: set asg.min_size >= 3" in out
    md = markdown(_plan([NOTE]))
    assert "| F101 | `ecs/Service` | 3 desired tasks \\| 1 placed | set asg.min_size >= 3 |" in md
    assert "forecast" not in markdown(_plan(None))
    show_plan(Console(False), _plan(None), diff=False)
    assert "forecast" not in capsys.readouterr().out
    # A plan saved before the field existed still loads (apply reads older plans).
    old = json.loads(_plan(None).to_json())
    del old["forecast"]
    assert Plan.from_json(json.dumps(old)).forecast is None


def test_an_endpoint_without_describe_events_is_info_not_a_traceback(endpoint: Endpoint,
                                                                     bare_endpoint: str) -> None:
    """Bare moto answers DescribeEvents with an HTML 500: F601 says it is not checked (info,
    so deploy goes on); before, the unparsable answer escaped as a traceback. Our endpoint
    answers it (emulation/events.py): a change set without validation errors, no finding."""
    from generator.forecast.checks import ChangeSetValidation
    from tests.helpers.forecast_account import ACCOUNT, _run

    body = ('{"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}')
    findings = {}
    for url in (bare_endpoint, endpoint.url):
        reset(url)
        c = clients(url)
        c.cloudformation.create_stack(StackName="kubenews-local-network", TemplateBody=body)
        c.cloudformation.create_change_set(StackName="kubenews-local-network",
                                           ChangeSetName="stackgen-1", TemplateBody=body)
        account = Account(lambda s, u=url: clients(u).__getattr__(s), ACCOUNT)
        findings[url] = _run(account, "local", checks=(ChangeSetValidation,)).findings
    [f] = findings[bare_endpoint]
    assert (f.check_id, f.severity, f.stack) == ("F601", "info", "network")
    assert "does not answer DescribeEvents" in f.message
    assert findings[endpoint.url] == []
