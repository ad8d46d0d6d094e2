"""The local endpoint and the deploy engine, whole process, on the `local` env.

Prints: endpoint start-up time; full create, no-op deploy and delete wall times
(`stackgen` as a user runs it, interpreter start-up included); CloudFormation
API calls per stack; a no-change plan with the whole review on (security tables,
cost, drift, picture). Targets: no-op deploy <= 1 s, full create <= 3 s,
no-change plan <= 1 s.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from generator.local.manager import free_port

ROOT = Path(__file__).resolve().parent.parent
STACKGEN = str(ROOT / ".venv" / "bin" / "stackgen")
RUNS = 3


def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([STACKGEN, "--no-color", *args], cwd=cwd, env=env, check=True,
                         capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout


def calls(stdout: str) -> str:
    found = re.search(r"cloudformation API calls: (.*)", stdout)
    return found.group(1) if found else "?"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("params", "templates"):
            shutil.copytree(ROOT / name, work / name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        subprocess.run([STACKGEN, "lint", "--env", "local"], cwd=work, env=env, check=True,
                       capture_output=True)  # deploy's lint gate then hits its cache
        start = time.perf_counter()
        port = str(free_port())  # another run's endpoint may hold a fixed port
        url = subprocess.run([STACKGEN, "local", "up", "--print-url", "--port", port], cwd=work,
                             env=env, check=True, capture_output=True, text=True).stdout.strip()
        print(f"local endpoint start-up (incl. seeding): {time.perf_counter() - start:.2f} s")
        env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing")
        try:
            creates, noops, plans, deletes = [], [], [], []
            for _ in range(RUNS):
                t, out_create = run(["deploy", "--env", "local", "--yes", "--api-calls"], work, env)
                creates.append(t)
                t, out_noop = run(["deploy", "--env", "local", "--yes", "--api-calls"], work, env)
                noops.append(t)
                t, out_plan = run(["plan", "--env", "local"], work, env)
                plans.append(t)
                t, out_delete = run(["delete", "--env", "local", "--yes", "--api-calls"], work, env)
                deletes.append(t)
            for label, times, out in (("full create", creates, out_create),
                                      ("no-op deploy", noops, out_noop),
                                      ("no-change plan", plans, out_plan),
                                      ("delete", deletes, out_delete)):
                print(f"{label:<14} median {statistics.median(times):.2f} s "
                      f"(min {min(times):.2f}) over {RUNS} runs; API calls {calls(out)}")
        finally:
            subprocess.run([STACKGEN, "local", "down"], cwd=work, env=env, check=False,
                           capture_output=True)


if __name__ == "__main__":
    main()
