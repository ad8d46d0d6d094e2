"""The spare cluster of the local endpoint's DBs: the next DB's data dir, copied from the
cluster template ahead of its create (by cp in a process of its own), so that the create
takes it with one rename instead of copying ~1000 files on the rds stack's critical path
(issue 28). Best effort: a create that finds no spare copies the template itself."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path


def spare_dir(template: Path, root: Path) -> Path:
    """Where the next DB's cluster waits, copied from ``template`` ahead of its create
    (under the instances of ``root``, the endpoint's rds dir: taken by a rename)."""
    return root / "instances" / f".spare-{template.name}"


def copy_cluster(source: Path, target: Path) -> None:
    """``source``'s contents into the existing dir ``target``, modes kept. With cp, not
    shutil.copytree: a copy in the endpoint's Python holds the GIL in turns with every
    request it answers meanwhile (the rest of the deploy that made the DB)."""
    cp = shutil.which("cp")
    if cp is None:
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        return
    done = subprocess.run([cp, "-pPR", f"{source}/.", str(target)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        raise OSError(f"cp {source} {target}: {done.stderr.decode(errors='replace').strip()}")


def make_spare(template: Path, root: Path,
               copy: Callable[[Path, Path], object] = copy_cluster) -> None:
    """Copy the template to the spare unless one waits: into a temporary dir, renamed
    when whole, so a create never takes half a copy (best effort: a create without a
    spare copies the template itself)."""
    spare = spare_dir(template, root)
    if spare.exists():
        return
    with contextlib.suppress(OSError):
        spare.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=spare.parent, prefix=".spare-partial-"))
        try:
            copy(template, partial)
            os.rename(partial, spare)
        except OSError:  # another thread made it meanwhile, or the copy failed
            shutil.rmtree(partial, ignore_errors=True)


def take_spare(template: Path, root: Path, target: Path) -> bool:
    """Move the waiting spare cluster to ``target`` (one rename); False when none waits
    (or another create took it first)."""
    try:
        os.rename(spare_dir(template, root), target)
    except OSError:
        return False
    return True
