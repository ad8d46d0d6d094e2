"""Lint wall time, whole process, on the same rendered files: ours uncached and
cached, and raw cfn-lint. Targets: uncached <= 1.2x raw cfn-lint; cached <= 0.3 s."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RUNS = 3


def timed(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, capture_output=True)
    assert done.returncode in ok, done.stdout + done.stderr
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("params", "templates"):
            shutil.copytree(ROOT / name, work / name)
        subprocess.run([BIN / "stackgen", "render", "--all-envs"], cwd=work, check=True,
                       capture_output=True)
        files = sorted(str(p) for p in (work / "build").rglob("*.yaml"))
        for label, env_args in (("1 env (local)", ["--env", "local"]),
                                ("all 4 envs", ["--all-envs"])):
            subset = [f for f in files if "/build/local/" in f] if "local" in env_args else files
            raw = statistics.median(
                timed([str(BIN / "cfn-lint"), *subset], work) for _ in range(RUNS))
            uncached = statistics.median(
                timed([str(BIN / "stackgen"), "lint", *env_args, "--no-cache"], work)
                for _ in range(RUNS))
            timed([str(BIN / "stackgen"), "lint", *env_args], work)  # fill the cache
            cached = statistics.median(
                timed([str(BIN / "stackgen"), "lint", *env_args], work) for _ in range(RUNS))
            print(f"{label}, {len(subset)} templates: raw cfn-lint {raw:.2f} s | stackgen lint "
                  f"uncached {uncached:.2f} s ({uncached / raw:.2f}x raw) | cached {cached:.2f} s")
        print("(raw cfn-lint runs without parameter values and without our 8 rules; "
              "stackgen lint renders first, then lints with both)")


if __name__ == "__main__":
    main()
