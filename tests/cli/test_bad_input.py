"""Every bad input ends in one clear line on stderr, exit code 2, no traceback,
nothing written, and no AWS call.

Each case of ``bad_input/cases.yaml`` overlays files on a copy of params/ and
templates/ and runs the command in-process (click's runner: an uncaught
exception is a traceback). AWS_ENDPOINT_URL points at a closed port, so a
command that reached AWS would fail with exit 1, not 2.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import ROOT

CASES: list[dict[str, Any]] = yaml.safe_load(
    (ROOT / "tests" / "bad_input" / "cases.yaml").read_text()
)
CATEGORIES = {"encodings": 8, "yaml": 12, "files": 10, "aws-limits": 15, "flags": 15,
              "plan-files": 8, "params": 15}


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 100
    assert len({c["name"] for c in CASES}) == len(CASES)
    counts = Counter(c["category"] for c in CASES)
    assert set(counts) == set(CATEGORIES), counts
    for category, least in CATEGORIES.items():
        assert counts[category] >= least, (category, counts[category])


def _overlay(project: Path, case: dict[str, Any]) -> None:
    for rel in case.get("remove") or []:
        path = project / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for rel, target in (case.get("links") or {}).items():
        (project / rel).unlink(missing_ok=True)
        (project / rel).symlink_to(target)
    for rel in case.get("dirs") or []:
        (project / rel).mkdir(parents=True, exist_ok=True)
    for rel, text in (case.get("files") or {}).items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    for rel, text in (case.get("append") or {}).items():
        with (project / rel).open("a") as f:
            f.write(text)
    for rel, size in (case.get("pad") or {}).items():  # a comment line repeated to a size
        with (project / rel).open("a") as f:
            f.write(("#" * 99 + "\n") * (size // 100 + 1))
    # Bytes as written: each character U+00XX of the YAML string is the byte XX.
    for rel, text in (case.get("raw") or {}).items():
        (project / rel).write_bytes(text.encode("latin-1"))


def _snapshot(project: Path) -> dict[str, tuple[int, int]]:
    """Every file and its size and mtime; the jinja bytecode cache does not count."""
    return {str(p.relative_to(project)): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in project.rglob("*") if ".stackgen" not in p.parts}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input(case: dict[str, Any], project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _overlay(project, case)
    monkeypatch.chdir(project)
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    before = _snapshot(project)
    result = CliRunner().invoke(cli, case.get("args", ["render", "--env", "local"]),
                                prog_name="stackgen")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"traceback: {result.exception!r}")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in case["expect"]:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert _snapshot(project) == before, "nothing may be written on bad input"


def test_bare_command_still_prints_the_whole_help() -> None:
    """Usage errors are one line; asking for nothing still shows the help, as click does."""
    result = CliRunner().invoke(cli, [], prog_name="stackgen")
    assert "Commands:" in result.output and "deploy" in result.output
    assert not result.output.startswith("error:")


def test_unwritable_build_dir_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No write permission (root ignores modes, so os.access stands in for them)."""
    import generator.render

    monkeypatch.chdir(project)
    (project / "build").mkdir()
    real_access = os.access
    def access(path: Any, mode: int) -> bool:
        return not (Path(path).name == "build" and mode & os.W_OK) and real_access(path, mode)

    monkeypatch.setattr(generator.render.os, "access", access)
    result = CliRunner().invoke(cli, ["render", "--env", "local"], prog_name="stackgen")
    assert result.exit_code == 2, result.output
    assert result.stderr == ("error: cannot write build/local: build is not writable; make it "
                             "writable, or choose another directory (--build-dir, --out)\n")
    assert list((project / "build").iterdir()) == []


def test_write_failing_midway_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fills up (or a directory that turns read-only) during the write."""
    monkeypatch.chdir(project)

    def full(self: Path, *args: Any, **kwargs: Any) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    result = CliRunner().invoke(cli, ["render", "--env", "local"], prog_name="stackgen")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: cannot write build/local/")
    assert "No space left on device" in result.stderr and len(result.stderr.splitlines()) == 1


def test_prices_update_of_a_deeply_nested_offer_is_one_line(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON nested past Python's recursion limit raised RecursionError through the CLI."""
    (project / "offers").mkdir()
    (project / "offers" / "AmazonEC2.json").write_text("[" * 100_000 + "]" * 100_000)
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["prices", "update", "--region", "us-east-1", "--from",
                                      "offers", "--out", "out.json"], prog_name="stackgen")
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"traceback: {result.exception!r}")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: offers/AmazonEC2.json: nested too deeply to be a price list file; download it again"]
    assert not (project / "out.json").exists()
