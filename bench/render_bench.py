"""Render wall time, whole process (interpreter start-up included).

Prints the median of several runs for one env, and one run rendering 50
generated envs. Target: one env <= 0.3 s.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "stackgen"), *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "params", work / "params")
        shutil.copytree(ROOT / "templates", work / "templates")
        timed(["render", "--env", "local"], work)  # warm the OS file cache and bytecode cache
        one = [timed(["render", "--env", "local"], work) for _ in range(RUNS)]
        print(f"render 1 env (local), whole process: median {statistics.median(one):.3f} s, "
              f"min {min(one):.3f} s over {RUNS} runs (target <= 0.3 s)")
        local = yaml.safe_load((work / "params" / "local.yaml").read_text())
        for i in range(50):
            env = {**local, "dns": {"domain": f"app{i}.stackgen.test",
                                    "zone": {"name": "stackgen.test"}}}
            env["asg"] = {**local["asg"], "max_size": 3 + i % 4}
            (work / "params" / f"gen{i:02d}.yaml").write_text(yaml.safe_dump(env))
        names = [f"gen{i:02d}" for i in range(50)]
        args = ["render"] + [a for n in names for a in ("--env", n)]
        fifty = timed(args, work)
        print(f"render 50 generated envs in one process: {fifty:.3f} s "
              f"({fifty / 50 * 1000:.1f} ms per env)")


if __name__ == "__main__":
    sys.exit(main())
