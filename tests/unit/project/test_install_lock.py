"""The environment the suite runs in is exactly the hash-pinned lock.

`make install` builds .venv from requirements/dev.txt with --require-hashes; a range in
pyproject.toml that lets a new release in (msgspec 0.23 once turned a fresh clone red)
must show up here as a difference, not as a failure somewhere else.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

LOCKS = ROOT / "requirements"
PIN = re.compile(r"^(?P<req>[A-Za-z0-9][^\s\\]*==[^\s\\;]+(?:\s*;[^\\]+)?)")


def pins(lock: Path) -> dict[str, str]:
    """The lock's pins that apply to this interpreter and platform."""
    out: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        m = PIN.match(line)
        if not m:
            continue
        req = Requirement(m["req"].strip())
        if req.marker is not None and not Marker(str(req.marker)).evaluate():
            continue
        (spec,) = req.specifier
        out[canonicalize_name(req.name)] = spec.version
    return out


def test_every_lock_pins_every_line_with_a_hash() -> None:
    for lock in sorted(LOCKS.glob("*.txt")):
        text = lock.read_text()
        entries = [line for line in text.splitlines() if PIN.match(line)]
        assert entries, lock
        # every requirement is `name==version \` followed by at least one hash line
        blocks = re.split(r"\n(?=\S)", text)
        for block in blocks:
            if PIN.match(block):
                assert "--hash=sha256:" in block, f"{lock.name}: no hash for {block.splitlines()[0]}"


def test_runtime_lock_agrees_with_the_dev_lock() -> None:
    dev, runtime = pins(LOCKS / "dev.txt"), pins(LOCKS / "runtime.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_installed_environment_equals_the_dev_lock() -> None:
    locked = pins(LOCKS / "dev.txt")
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if canonicalize_name(d.metadata["Name"]) != "stackgen"
    }
    missing = {n: v for n, v in locked.items() if installed.get(n) != v}
    extra = {n: v for n, v in installed.items() if n not in locked}
    assert not missing and not extra, (
        f"venv differs from requirements/dev.txt: wrong or missing {missing}, not in the lock {extra}; "
        "run `make install` (it rebuilds .venv from the lock)"
    )
