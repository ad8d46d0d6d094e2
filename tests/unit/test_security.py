"""`make security`: how the gate reads checkov's JSON, and that every skip carries a reason
that README's table lists (checkov itself runs in `make security`, in its own venv)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from generator.context import CHECKOV_REASONS
from generator.params import load_env
from generator.render import render
from generator.security import documented_checks, findings, main, problems
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT


def _check(check_id: str, result: str, comment: str | None = None) -> dict[str, object]:
    check_result: dict[str, object] = {"result": result}
    if comment is not None:
        check_result["suppress_comment"] = comment
    return {"check_id": check_id, "resource": "AWS::X::Y.Z", "file_path": "/prod/x.yaml",
            "check_result": check_result}


# The shape checkov 3.3 prints with --output json for one framework.
REPORT = {"check_type": "cloudformation", "results": {
    "passed_checks": [_check("CKV_AWS_1", "PASSED")],
    "failed_checks": [_check("CKV_AWS_2", "FAILED")],
    "skipped_checks": [_check("CKV_AWS_158", "SKIPPED", "a reason"),
                       _check("CKV_AWS_9", "SKIPPED", "No comment provided")],
}, "summary": {}}


def test_failed_checks_and_skips_without_a_reason_or_a_table_row_fail() -> None:
    failed, skipped = findings(json.dumps(REPORT))
    assert [f.check_id for f in failed] == ["CKV_AWS_2"]
    found = problems(failed, skipped, documented={"CKV_AWS_158"})
    assert found == [
        "failed: /prod/x.yaml: CKV_AWS_2 AWS::X::Y.Z",
        "skipped without a reason: /prod/x.yaml: CKV_AWS_9 AWS::X::Y.Z (No comment provided)",
        "skipped but not in README's table of deliberate choices: "
        "/prod/x.yaml: CKV_AWS_9 AWS::X::Y.Z (No comment provided)",
    ]


def test_a_list_of_reports_and_an_empty_output_are_read() -> None:
    failed, skipped = findings(json.dumps([REPORT, {"check_type": "x", "results": {}}]))
    assert len(failed) == 1 and len(skipped) == 2
    assert findings("") == ([], [])


def test_readme_table_lists_exactly_the_reasons_we_skip() -> None:
    assert documented_checks((ROOT / "README.md").read_text()) == set(CHECKOV_REASONS)


@pytest.mark.parametrize("env", ENVS)
def test_every_skip_in_a_rendered_template_has_a_known_reason(env: str) -> None:
    rendered = render(load_env(ROOT / "params", env), ROOT / "templates")
    seen = 0
    for stack in rendered.stacks.values():
        for res in load_cfn(stack.template)["Resources"].values():
            for skip in ((res.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
                assert skip["comment"] == CHECKOV_REASONS[skip["id"]]
                seen += 1
    assert seen >= 6


def test_without_checkov_the_gate_says_how_to_get_it(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--checkov", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert re.search(r"not found; run `make security`", capsys.readouterr().err)
