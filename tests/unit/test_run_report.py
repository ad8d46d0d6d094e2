"""What the commands report (generator/run_report.py), where ``--stack`` is checked and
envs are written (generator/render.py), and the one place exit codes are decided."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator import run_report
from generator.aws.cfn_types import StackInfo
from generator.aws.status import Outcome, StackResult
from generator.cli import cli
from generator.errors import OutputError, UsageError
from generator.params import load_env
from generator.render import Rendered, render, write_all
from generator.ui import Console, NdjsonConsole
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    return render(load_env(ROOT / "params", "local"), ROOT / "templates")


def test_results_print_the_root_cause_and_make_the_exit_code(
        capsys: pytest.CaptureFixture[str]) -> None:
    ok = [StackResult("network", "n", Outcome.UPDATED, seconds=1.25)]
    assert run_report.results(Console(color=False), ok, "deploy") == 0
    failed = [*ok, StackResult("alb", "a", Outcome.FAILED, reasons=["Listener: bad cert"]),
              StackResult("ecs", "e", Outcome.BLOCKED, reasons=["upstream alb"])]
    assert run_report.results(Console(color=False), failed, "deploy", api_calls=6) == 1
    out = capsys.readouterr().out
    assert "cloudformation API calls: 6 (2.0 per stack)" in out
    assert "  network  ✓ UPDATED  1.2" in out and "  alb      ✗ FAILED   0.0" in out
    assert out.rstrip().endswith("deploy did not finish; root cause:\n"
                                 "  alb (a): Listener: bad cert\n  ecs (e): upstream alb")
    assert run_report.results(Console(color=False), [], "delete") == 0


def test_several_envs_make_one_matrix_and_name_each_root_cause_by_env(
        capsys: pytest.CaptureFixture[str]) -> None:
    results = {
        "blue": [StackResult("network", "b-n", Outcome.UNCHANGED),
                 StackResult("ecs", "b-e", Outcome.UPDATED)],
        "green": [StackResult("network", "g-n", Outcome.UNCHANGED),
                  StackResult("rds", "g-r", Outcome.FAILED, reasons=["DbInstance: quota"]),
                  StackResult("ecs", "g-e", Outcome.BLOCKED, reasons=["upstream rds"])],
    }
    code = run_report.results_many(Console(color=False), results,
                               [["network", "ecs"], ["network", "rds", "ecs"]], "deploy")
    out = capsys.readouterr().out
    assert code == 1
    header = next(line for line in out.splitlines() if line.strip().startswith("env"))
    assert header.split() == ["env", "network", "ecs", "rds"]  # graph order, union of envs
    blue = next(line for line in out.splitlines() if line.strip().startswith("blue"))
    assert "UPDATED" in blue and "FAILED" not in blue
    assert out.rstrip().endswith("root cause:\n  green/rds (g-r): DbInstance: quota\n"
                                 "  green/ecs (g-e): upstream rds")
    assert run_report.results_many(Console(color=False), {"blue": results["blue"]},
                               [["network", "ecs"]], "deploy") == 0


def test_results_as_json_lines_keep_the_outcome_strings(
        capsys: pytest.CaptureFixture[str]) -> None:
    run_report.results(NdjsonConsole(), [StackResult("a", "n", Outcome.TIMED_OUT, reasons=["x"])],
                   "deploy")
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert line == {"type": "result", "stack": "a", "stack_name": "n", "state": "TIMED_OUT",
                    "seconds": 0.0, "reasons": ["x"]}


def test_the_status_table_says_not_deployed_and_when_it_last_changed(
        capsys: pytest.CaptureFixture[str]) -> None:
    info = StackInfo("kn-net", "id", "UPDATE_ROLLBACK_COMPLETE", {}, {"VpcId": "vpc-1"}, {},
                     datetime(2026, 11, 28, 12, 0, 5, tzinfo=UTC))
    names = {"network": "kn-net", "alb": "kn-alb"}
    run_report.status_table(Console(color=False), names, {"kn-net": info})
    assert capsys.readouterr().out.splitlines() == [
        "  stack    name    status                               last change",
        # rolled back: usable, as AWS treats it (issue 25), not a failure mark
        "  network  kn-net  ↺ UPDATE_ROLLBACK_COMPLETE (usable)  2026-11-28 12:00:05",
        "  alb      kn-alb  · NOT_DEPLOYED"]
    run_report.outputs(Console(color=False), names, {"kn-net": info}, "json")
    assert json.loads(capsys.readouterr().out) == {"network": {"VpcId": "vpc-1"}}


def test_stack_selection_is_checked_in_one_place(rendered: Rendered) -> None:
    assert rendered.select(()) == rendered.graph.order
    assert rendered.select({"ecs", "network"}) == ["network", "ecs"]
    with pytest.raises(UsageError, match="--stack netwrk: not a stack of env 'local'; "
                                         "did you mean 'network'\\? stacks: "):
        rendered.select(["netwrk"])


def test_no_env_is_written_when_one_cannot_be(rendered: Rendered, tmp_path: Path) -> None:
    dev = render(load_env(ROOT / "params", "dev"), ROOT / "templates")
    (tmp_path / "blocked").write_text("a file where a directory goes")
    dirs = {"local": tmp_path / "first", "dev": tmp_path / "blocked"}
    with pytest.raises(OutputError, match="is a file, not a directory"):
        write_all([rendered, dev], lambda r: dirs[r.env.name])
    assert not (tmp_path / "first").exists()
    written = write_all([rendered], lambda r: dirs[r.env.name], {"network"})
    assert sorted(p.name for p in written[0]) == [
        "manifest.json", "network.params.json", "network.yaml"]


def test_exit_codes_are_decided_in_one_place(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--params-dir", str(ROOT / "params"), "--templates-dir", str(ROOT / "templates"),
            "--build-dir", str(tmp_path / "build"), "plan", "--env", "nope"]
    bad = runner.invoke(cli, args)
    assert bad.exit_code == 2 and "error: " in bad.output
    # Terraform's convention with --detailed-exitcode: 2 means changes, so errors exit 1.
    assert runner.invoke(cli, [*args, "--detailed-exitcode"]).exit_code == 1
    assert runner.invoke(cli, ["--params-dir", str(ROOT / "params"), "envs"]).exit_code == 0
