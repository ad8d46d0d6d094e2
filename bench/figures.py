"""Every headline figure in one table, beside the previous commit's (bench/last.json).

What `make bench` prints (issue 28): render of one env and a warm lint (best of five,
whole process), create / no-op / delete of the `local` env against Sceptre on the same
local endpoint (bench/compare.py: medians of interleaved pairs; wall, CPU, peak memory),
dev's makespan on the latency model against its critical path (bench/makespan.py), and
`make test-fast`. Each figure carries the load average (1 min) measured while it ran:
on this project's shared 2-core machine the load moves every figure, so a figure
without its load says little.

    python bench/figures.py             # print, and write bench/last.json
    python bench/figures.py --readme    # also replace README.md's figures table
    BENCH_SCEPTRE=/path/to/sceptre      # Sceptre's columns (see bench/compare.py)
    BENCH_SKIP=tests,makespan           # leave figures out (they keep their last value;
                                        # all four: --readme from bench/last.json alone)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import compare

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
LAST = ROOT / "bench" / "last.json"
README = ROOT / "README.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))

Row = dict[str, Any]  # {"text": shown figure, "value": number compared, "load": 1-min load}


def load() -> float:
    return round(os.getloadavg()[0], 2)


def loaded(measure: Callable[[], dict[str, Row]]) -> dict[str, Row]:
    """The rows ``measure`` makes, each with the load averaged over its run."""
    before = load()
    rows = measure()
    during = round((before + load()) / 2, 2)
    return {k: {**v, "load": during} for k, v in rows.items()}


def render_rows() -> dict[str, Row]:
    out = subprocess.run([str(PY), str(ROOT / "bench" / "render_bench.py")], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    rows = {}
    for key, label in (("render", "render --env prod"),
                       ("warm lint", r"lint --env prod \(warm cache\)")):
        m = re.search(label + r"\s+best of \d+: ([\d.]+) s wall, ([\d.]+) s CPU", out)
        if m:
            wall, cpu = float(m.group(1)), float(m.group(2))
            rows[key] = {"text": f"{wall:.3f} s ({cpu:.3f} s CPU)", "value": wall}
    return rows


def compare_rows() -> dict[str, Row]:
    now = compare.run()
    previous = json.loads(LAST.read_text()) if LAST.exists() else {}
    previous.update({k: now[k] for k in ("rounds", "reference", "figures")})
    LAST.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
    rows = {}
    for op in compare.OPS:
        s = now["figures"]["stackgen"][op]
        text = f"{s['wall']:.2f} s, {s['cpu']:.2f} s CPU, {s['mib']:.0f} MiB"
        value = s["wall"]
        if "sceptre" in now["figures"]:
            r = now["figures"]["sceptre"][op]
            text += (f" (Sceptre {r['wall']:.2f} s, {r['cpu']:.2f} s CPU, {r['mib']:.0f} MiB:"
                     f" wall x{s['wall'] / r['wall']:.2f}, CPU x{s['cpu'] / r['cpu']:.2f},"
                     f" memory x{s['mib'] / r['mib']:.2f})")
            value = round(s["wall"] / r["wall"], 3)
        rows[f"{op} (local env)"] = {"text": text, "value": value}
    return rows


def makespan_rows() -> dict[str, Row]:
    out = subprocess.run([str(PY), str(ROOT / "bench" / "makespan.py")], cwd=ROOT,
                         capture_output=True, text=True, check=False,
                         env={**os.environ, "MAKESPAN_ENVS": "dev"}).stdout
    path = re.search(r"dev: critical path ([\d.]+) min", out)
    span = re.search(r"makespan ([\d.]+) min \(([+-][\d.]+) % of the critical path", out)
    if not (path and span):
        return {"dev makespan": {"text": "not measured: " + out.strip()[-200:], "value": None}}
    return {"dev makespan": {
        "text": f"{span.group(1)} min, {span.group(2)} % over its critical path "
                f"({path.group(1)} min)", "value": float(span.group(2))}}


def tests_rows() -> dict[str, Row]:
    start = time.perf_counter()
    child = subprocess.Popen([str(ROOT / ".venv" / "bin" / "pytest"), "-p", "no:xdist", "-q",
                              "tests/unit", "tests/cli"], cwd=ROOT,
                             stdin=subprocess.DEVNULL,  # a test reads a device: never ours
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    passed = re.search(r"(\d+) passed", out)
    count = f"{passed.group(1)} tests, " if passed else ""
    failures = re.search(r"(\d+) failed", out)
    failed = "" if os.waitstatus_to_exitcode(status) == 0 else \
        f", {failures.group(1)} FAILED" if failures else ", FAILED"
    cpu = usage.ru_utime + usage.ru_stime
    return {"make test-fast": {"text": f"{count}{wall:.0f} s ({cpu:.0f} s CPU){failed}",
                               "value": round(wall, 1)}}


STEPS: dict[str, Callable[[], dict[str, Row]]] = {
    "render": render_rows, "compare": compare_rows, "makespan": makespan_rows,
    "tests": tests_rows}


def table(now: dict[str, Row], before: dict[str, Row], commit: str) -> str:
    lines = ["| figure | now | load | previous | load |", "|---|---|---|---|---|"]
    for key, row in now.items():
        old = before.get(key, {})
        lines.append(f"| {key} | {row['text']} | {row['load']} | {old.get('text', '-')} | "
                     f"{old.get('load', '-')} |")
    return "\n".join(lines) + f"\n\nprevious: commit {commit}"


def readme_table(now: dict[str, Row]) -> str:
    lines = ["| figure | measured | load average |", "|---|---|---|"]
    lines += [f"| {key} | {row['text']} | {row['load']} |" for key, row in now.items()]
    return "\n".join(lines)


def main() -> None:
    previous = json.loads(LAST.read_text()) if LAST.exists() else {}
    before: dict[str, Row] = previous.get("table", {})
    now: dict[str, Row] = {}
    for name, step in STEPS.items():
        if name in SKIP:
            now.update({k: before[k] for k in _keys(name, before)})
            continue
        print(f"measuring {name} (load {load()})", file=sys.stderr)
        now.update(loaded(step))
    print(table(now, before, previous.get("commit", "?")))
    saved = json.loads(LAST.read_text()) if LAST.exists() else {}
    saved.update(commit=compare.commit(), table=now)
    LAST.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    if "--readme" in sys.argv[1:]:
        text = README.read_text()
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{START}\n{readme_table(now)}\n{END}{tail}")


def _keys(step: str, rows: dict[str, Row]) -> list[str]:
    """The rows a step makes (to carry them over when it is skipped)."""
    prefix = {"render": ("render", "warm lint"), "compare": ("create", "no-op", "delete"),
              "makespan": ("dev makespan",), "tests": ("make test-fast",)}[step]
    return [k for p in prefix for k in rows if k.startswith(p)]  # in the table's order


if __name__ == "__main__":
    main()
