"""Render and start-up wall time, whole process (interpreter start-up included).

Prints, best of five (and the CPU time of the best run, steadier on a shared machine):
`render --env prod`, `lint --env prod` answered from a warm cache, `stackgen --help`;
then the median of several renders of the local env, and one process rendering 50
generated envs. Targets (issue 28): render of one env <= 0.2 s, warm lint <= 0.3 s.

The load average is printed with the figures: on this project's shared 2-core machine
a best of five under load ~4 is ~20 % above the same on an idle one.
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
STACKGEN = ROOT / ".venv" / "bin" / "stackgen"
RUNS = 7
BEST_OF = 5


def timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``stackgen ARGS`` process."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen([str(STACKGEN), *args], cwd=cwd, stdout=subprocess.DEVNULL,
                                 stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"stackgen {' '.join(args)} failed: {errors.read().decode().strip()}")
    return wall, usage.ru_utime + usage.ru_stime


def best_of(args: list[str], cwd: Path, label: str, target: float | None = None) -> None:
    runs = [timed(args, cwd) for _ in range(BEST_OF)]
    wall, cpu = min(runs)
    goal = f" (target <= {target} s)" if target else ""
    print(f"{label:<34} best of {BEST_OF}: {wall:.3f} s wall, {cpu:.3f} s CPU{goal}")


def main() -> None:
    # The generator's bytecode as an install leaves it, also where PYTHONDONTWRITEBYTECODE
    # is set (compiling ~30 modules from source costs a render ~60 ms).
    compileall.compile_dir(ROOT / "generator", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "params", work / "params")
        shutil.copytree(ROOT / "templates", work / "templates")
        timed(["render", "--env", "prod"], work)  # warm the OS file cache and Jinja's cache
        timed(["lint", "--env", "prod"], work)  # fill the lint cache
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        best_of(["render", "--env", "prod"], work, "render --env prod", 0.2)
        best_of(["lint", "--env", "prod"], work, "lint --env prod (warm cache)", 0.3)
        best_of(["--help"], work, "stackgen --help")
        timed(["render", "--env", "local"], work)
        one = [timed(["render", "--env", "local"], work)[0] for _ in range(RUNS)]
        print(f"render 1 env (local), whole process: median {statistics.median(one):.3f} s, "
              f"min {min(one):.3f} s over {RUNS} runs")
        local = yaml.safe_load((work / "params" / "local.yaml").read_text())
        for i in range(50):
            env = {**local, "dns": {"domain": f"app{i}.stackgen.test",
                                    "zone": {"name": "stackgen.test"}}}
            env["asg"] = {**local["asg"], "max_size": 3 + i % 4}
            (work / "params" / f"gen{i:02d}.yaml").write_text(yaml.safe_dump(env))
        names = [f"gen{i:02d}" for i in range(50)]
        args = ["render"] + [a for n in names for a in ("--env", n)]
        fifty, _ = timed(args, work)
        print(f"render 50 generated envs in one process: {fifty:.3f} s "
              f"({fifty / 50 * 1000:.1f} ms per env)")


if __name__ == "__main__":
    sys.exit(main())
