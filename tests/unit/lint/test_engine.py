"""Issue 22, 10 (and 25): the lint cache is written atomically and verified before use.
A corrupt or tampered entry (`[]` written over it, invalid JSON, another entry's text)
is ignored and the template linted again: never a traceback, never a hidden finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.lint.engine import Linter, Target, read_cache_entry, write_cache_entry
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "lint_fixtures" / "E9111" / "bad.yaml"


def _target() -> Target:
    return Target("test", "fixture", Path("fixture.yaml"), FIXTURE.read_text(), {}, "us-east-1")


def _lint(cache: Path) -> tuple[Linter, set[str]]:
    linter = Linter(cache_dir=cache, jobs=1)
    return linter, {f.rule_id for f in linter.lint([_target()])}


def _entry(cache: Path) -> Path:
    [entry] = [p for p in cache.iterdir() if not p.name.startswith(".")]
    return entry


def test_a_cached_run_gives_the_same_findings(tmp_path: Path) -> None:
    _, first = _lint(tmp_path)
    assert "E9111" in first
    linter, again = _lint(tmp_path)
    assert again == first and linter.cache_hits == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


@pytest.mark.parametrize("tampered", [
    "[]", "", "{", "not json", "\udcff", '{"key": "x", "findings": [], "sha256": "0"}',
    "null", '{"findings": []}', "[{\"rule_id\": 1}]",
])
def test_a_corrupt_or_tampered_entry_is_ignored_and_recomputed(tmp_path: Path,
                                                               tampered: str) -> None:
    _lint(tmp_path)
    entry = _entry(tmp_path)
    entry.write_bytes(tampered.encode("utf-8", "surrogateescape"))
    linter, found = _lint(tmp_path)
    assert "E9111" in found  # the finding is not hidden
    assert linter.cache_misses == 1
    assert read_cache_entry(entry, entry.stem) is not None  # rewritten whole


def test_an_entry_whose_findings_were_emptied_but_hash_kept_is_refused(tmp_path: Path) -> None:
    _lint(tmp_path)
    entry = _entry(tmp_path)
    doc = json.loads(entry.read_text())
    doc["findings"] = []
    entry.write_text(json.dumps(doc))
    linter, found = _lint(tmp_path)
    assert "E9111" in found and linter.cache_misses == 1


def test_an_entry_copied_under_another_key_is_refused(tmp_path: Path) -> None:
    write_cache_entry(tmp_path / "a.json", "a", [])
    (tmp_path / "b.json").write_bytes((tmp_path / "a.json").read_bytes())
    assert read_cache_entry(tmp_path / "a.json", "a") == []
    assert read_cache_entry(tmp_path / "b.json", "b") is None


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("in the way")  # the cache dir's place is a file
    linter, found = _lint(blocked / "cache")
    assert "E9111" in found and linter.cache_misses == 1
