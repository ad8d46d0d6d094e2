"""The gates `make test` holds besides the suite, run as its tests: ruff and mypy strict
(`make check`), the generated docs current (`make docs-check`), every shipped env linted
with zero findings (`make lint`), checkov's second opinion (`make security`).

As tests they share the suite's workers: each gate is one process busy on the CPU, while
most of the suite's workers wait on an endpoint, so run side by side they cost the run
almost nothing (one after the other, before the suite, they were 1.5 min of it). The
Makefile stays their one definition; a failure shows the gate's own output.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

GATES = ("check", "docs-check", "lint", "security")


@pytest.mark.parametrize("target", GATES)
def test_the_gate_passes(target: str) -> None:
    make = shutil.which("make")
    assert make is not None, "make is not on PATH: install GNU make"
    done = subprocess.run([make, "-s", "--no-print-directory", target], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (f"`make {target}` failed (exit {done.returncode}):\n"
                                  f"{done.stdout}{done.stderr}")


def test_make_test_runs_every_gate_through_this_module() -> None:
    # `make test` itself runs only pytest (after installing what the gates need): a gate
    # added to the Makefile's test prerequisites instead of GATES would run before the
    # suite again, and one dropped from GATES would not run at all.
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    rule = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert not set(rule.split()) & set(GATES), rule
    for gate in GATES:
        assert f"\n{gate}:" in makefile or f" {gate}:" in makefile, gate
