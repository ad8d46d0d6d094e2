"""Plan files: signed with a key the user keeps, written 0600, never through a link
someone placed (issue 22, items 1 and 10)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from generator.errors import OutputError
from generator.review.plan_file import PlanSignatureError, load_plan, plan_key, write_private
from tests.helpers.plan_files import KEY, _saved


def test_a_signed_plan_loads_with_its_key(tmp_path: Path) -> None:
    path = _saved(tmp_path, KEY)
    assert load_plan(path, KEY).env == "local"
    assert json.loads(path.read_text())["signature"].startswith("hmac-sha256:")


def test_an_unsigned_plan_is_refused_when_a_key_is_given(tmp_path: Path) -> None:
    path = _saved(tmp_path, None)
    with pytest.raises(PlanSignatureError, match="not signed"):
        load_plan(path, KEY)


def test_an_edited_or_otherwise_signed_plan_is_refused(tmp_path: Path) -> None:
    path = _saved(tmp_path, KEY)
    with pytest.raises(PlanSignatureError, match="does not match"):
        load_plan(path, b"another key of 16+ bytes!")
    data = json.loads(path.read_text())
    data["stacks"] = [{"stack": "ecs", "stack_name": "x", "state": "update",
                       "template_sha256": "0", "change_set_id": "arn:aws:cloudformation:x"}]
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    with pytest.raises(PlanSignatureError, match="does not match"):
        load_plan(path, KEY)


def test_the_key_comes_from_a_file_or_the_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STACKGEN_PLAN_KEY", raising=False)
    assert plan_key(None) is None
    monkeypatch.setenv("STACKGEN_PLAN_KEY", KEY.decode())
    assert plan_key(None) == KEY
    (tmp_path / "k").write_bytes(b"file-key-of-enough-bytes\n")
    assert plan_key(tmp_path / "k") == b"file-key-of-enough-bytes"
    (tmp_path / "short").write_bytes(b"short")
    with pytest.raises(Exception, match="16 to"):
        plan_key(tmp_path / "short")


def test_plans_and_reviews_are_private(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("old")
    path.chmod(0o644)
    write_private(path, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "{}"


def test_an_output_that_is_a_symlink_is_refused_unless_forced(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    link = tmp_path / "p.json"
    link.symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        write_private(link, "{}")
    assert victim.read_text() == "keep me"
    write_private(link, "{}", force=True)
    assert victim.read_text() == "{}" and link.is_symlink()
