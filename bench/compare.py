"""stackgen against the reference on the same local endpoint: create, no-op deploy and
delete of the `local` env, wall time, CPU time (user + system) and peak memory of each
process, in interleaved pairs (medians), side by side with the figures of the previous
run committed in bench/last.json (its commit named).

The reference: a direct botocore loop of CreateStack / UpdateStack / DeleteStack
(bench/reference_loop.py), the least a tool can do; and Sceptre too when BENCH_SCEPTRE
names a `sceptre` executable (`pip install sceptre` in a venv of its own: it is no
dependency of ours), on a project made from the same rendered env
(bench/sceptre_project.py): `sceptre launch -y` and `sceptre delete -y`.

    python bench/compare.py            # print, and write bench/last.json
    BENCH_STACKGEN=/path/to/stackgen   # measure another build (the previous commit's)
    BENCH_ROUNDS=3                     # pairs per operation
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from generator.local.manager import free_port

ROOT = Path(__file__).resolve().parent.parent
STACKGEN = os.environ.get("BENCH_STACKGEN") or str(ROOT / ".venv" / "bin" / "stackgen")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SCEPTRE = os.environ.get("BENCH_SCEPTRE", "")
LAST = ROOT / "bench" / "last.json"
OPS = ("create", "no-op", "delete")


def measured(args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Wall and CPU seconds and peak resident MiB of one process run to its end."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} exited {proc.returncode}:\n{out.decode()[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "mib": usage.ru_maxrss / 1024}


def ours(op: str) -> list[str]:
    command = {"create": "deploy", "no-op": "deploy", "delete": "delete"}[op]
    return [STACKGEN, "--no-color", command, "--env", "local", "--yes"]


def reference(op: str, build: Path) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / "reference_loop.py"),
            {"create": "create", "no-op": "noop", "delete": "delete"}[op], str(build)]


def sceptre(op: str) -> list[str]:
    return [SCEPTRE, "--dir", "sceptre", "delete" if op == "delete" else "launch", "-y",
            "local"]


def zone_id(env: dict[str, str]) -> str:
    code = ("import botocore.session; c = botocore.session.Session().create_client("
            "'route53', region_name='us-east-1'); print([z['Id'].split('/')[-1] for z in "
            "c.list_hosted_zones_by_name(DNSName='stackgen.test.')['HostedZones'] "
            "if z['Name'] == 'stackgen.test.'][0])")
    return subprocess.run([sys.executable, "-c", code], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


def run() -> dict[str, Any]:
    # The generator's bytecode as an install leaves it, also where PYTHONDONTWRITEBYTECODE
    # is set: a module changed since `make install` was otherwise compiled from source in
    # every stackgen process measured (the reference and Sceptre never pay that).
    compileall.compile_dir(ROOT / "generator", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("params", "templates"):
            shutil.copytree(ROOT / name, work / name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        subprocess.run([STACKGEN, "render", "--env", "local"], cwd=work, env=env, check=True,
                       capture_output=True)
        subprocess.run([STACKGEN, "lint", "--env", "local"], cwd=work, env=env, check=True,
                       capture_output=True)  # deploy's lint gate then hits its cache
        # No containers: both tools are measured on CloudFormation alone.
        url = subprocess.run([STACKGEN, "local", "up", "--print-url", "--containers", "off",
                              "--port", str(free_port())], cwd=work, env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
        who_runs = ["stackgen", "reference"] + (["sceptre"] if SCEPTRE else [])
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            who: {op: [] for op in OPS} for who in who_runs}
        try:
            if SCEPTRE:
                subprocess.run([sys.executable, str(ROOT / "bench" / "sceptre_project.py"),
                                str(work / "build" / "local"), str(work / "sceptre"),
                                zone_id(env)], check=True)
            for _ in range(ROUNDS):
                for who in who_runs:  # interleaved: the same load for each
                    for op in OPS:
                        args = ours(op) if who == "stackgen" else sceptre(op) \
                            if who == "sceptre" else reference(op, work / "build" / "local")
                        runs[who][op].append(measured(args, work, env))
        finally:
            subprocess.run([STACKGEN, "local", "down"], cwd=work, env=env, check=False,
                           capture_output=True)
    return {"commit": commit(), "rounds": ROUNDS,
            "reference": "direct botocore loop (bench/reference_loop.py)",
            "figures": {who: {op: median(r) for op, r in by_op.items()}
                        for who, by_op in runs.items()}}


def report(now: dict[str, Any], before: dict[str, Any] | None) -> None:
    print(f"stackgen vs {now['reference']}, `local` env, medians of {now['rounds']} "
          "interleaved pairs (wall s / CPU s / peak MiB)")
    if "sceptre" in now["figures"]:
        for op in OPS:
            s, r = now["figures"]["stackgen"][op], now["figures"]["sceptre"][op]
            print(f"  vs Sceptre {op:<7} {r['wall']:>6.2f} {r['cpu']:>6.2f} {r['mib']:>6.0f}"
                  f"  wall x {s['wall'] / r['wall']:.2f}  CPU x {s['cpu'] / r['cpu']:.2f}"
                  f"  memory x {s['mib'] / r['mib']:.2f}")
    head = f"{'op':<7} {'stackgen':>20} {'reference':>20} {'wall x':>7} {'CPU x':>6}"
    if before:
        head += f" {'previous (' + before['commit'] + ')':>26}"
    print(head)
    for op in OPS:
        s, r = now["figures"]["stackgen"][op], now["figures"]["reference"][op]
        row = (f"{op:<7} {s['wall']:>6.2f} {s['cpu']:>6.2f} {s['mib']:>6.0f} "
               f"{r['wall']:>6.2f} {r['cpu']:>6.2f} {r['mib']:>6.0f} "
               f"{s['wall'] / r['wall']:>7.2f} {s['cpu'] / r['cpu']:>6.2f}")
        if before:
            p = before["figures"]["stackgen"][op]
            row += f" {p['wall']:>8.2f} {p['cpu']:>8.2f} {p['mib']:>8.0f}"
        print(row)


def main() -> None:
    before = json.loads(LAST.read_text()) if LAST.exists() else None
    now = run()
    report(now, before)
    # The other figures (bench/figures.py's table) stay as they were.
    LAST.write_text(json.dumps({**(before or {}), **now}, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
