"""Issue 28: a local DB's create copied the ~1000-file cluster template on its request
(0.2-1.2 s of the rds stack's ExecuteChangeSet, on a deploy's critical path); the copy
is now made ahead (the spare) and the create only renames it."""

from __future__ import annotations

import shutil
from pathlib import Path

from generator.local.emulation import rds_spare
from generator.local.emulation.rds_spare import spare_dir, take_spare


def make_spare(template: Path, root: Path) -> None:
    """The spare made with Python's copy (no process in this tier; cp: tests/local)."""
    rds_spare.make_spare(template, root, copy=lambda source, target: shutil.copytree(
        source, target, symlinks=True, dirs_exist_ok=True))


def _template(tmp_path: Path) -> Path:
    template = tmp_path / "cache" / "postgres-15-template"
    (template / "data" / "base").mkdir(parents=True)
    (template / "data" / "PG_VERSION").write_text("15\n")
    (template / "data" / "base" / "1").write_bytes(b"\0" * 64)
    (template / "instance.json").write_text('{"admin_password": "x"}')
    return template


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_create_takes_the_spare_whole_and_the_next_finds_none(tmp_path: Path) -> None:
    template, root = _template(tmp_path), tmp_path / "rds"
    make_spare(template, root)
    target = root / "instances" / "123456789012" / "us-east-1" / "db1"
    target.parent.mkdir(parents=True)
    assert take_spare(template, root, target)
    assert _files(target) == _files(template)
    assert not spare_dir(template, root).exists()
    # Taken: the next create copies the template itself (until the spare is made again).
    assert not take_spare(template, root, target.parent / "db2")
    assert not (target.parent / "db2").exists()


def test_a_waiting_spare_is_kept_and_no_partial_copy_is_left(tmp_path: Path) -> None:
    template, root = _template(tmp_path), tmp_path / "rds"
    make_spare(template, root)
    (spare_dir(template, root) / "marker").write_text("first")
    make_spare(template, root)  # one waits: not copied again
    assert (spare_dir(template, root) / "marker").read_text() == "first"
    assert sorted(p.name for p in (root / "instances").iterdir()) == [
        spare_dir(template, root).name]


def test_a_spare_of_another_template_is_not_taken(tmp_path: Path) -> None:
    template, root = _template(tmp_path), tmp_path / "rds"
    make_spare(template, root)
    other = tmp_path / "cache" / "postgres-16-template"
    assert not take_spare(other, root, root / "instances" / "db1")
