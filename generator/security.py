"""`make security`: checkov over every env's rendered templates, a second opinion
beside our own lint rules (issue 13).

The gate fails on any failed check, on a skipped check whose skip carries no written
reason (checkov's ``Metadata: checkov: skip: [{id, comment}]``), and on a skipped
check that README's table of deliberate choices does not list. checkov lives in a
venv of its own (``.venv-security``): its pins (boto3 1.35, packaging 23) conflict
with this project's boto3 and moto.

    python -m generator.security --checkov .venv-security/bin/checkov
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from generator.params import list_envs, load_env
from generator.render import render, write

ROOT = Path(__file__).resolve().parent.parent
# checkov's placeholder when a skip names no reason.
NO_REASON = {"", "no comment provided"}
TABLE_START = "<!-- security-choices:start -->"
TABLE_END = "<!-- security-choices:end -->"


class Finding(msgspec.Struct, frozen=True):
    check_id: str
    resource: str
    file: str
    comment: str = ""

    def line(self) -> str:
        reason = f" ({self.comment})" if self.comment else ""
        return f"{self.file}: {self.check_id} {self.resource}{reason}"


def render_all(params_dir: Path, templates_dir: Path, out: Path) -> list[str]:
    """Every env's rendered stack templates and nested root under out/<env>/."""
    if out.exists():
        shutil.rmtree(out)
    envs = list_envs(params_dir)
    for env in envs:
        rendered = render(load_env(params_dir, env), templates_dir)
        write(rendered, out / env)
    return envs


def _reports(raw: str) -> list[dict[str, Any]]:
    data = json.loads(raw) if raw.strip() else []
    return data if isinstance(data, list) else [data]


def findings(raw: str) -> tuple[list[Finding], list[Finding]]:
    """(failed, skipped) from checkov's JSON output."""
    failed: list[Finding] = []
    skipped: list[Finding] = []
    for report in _reports(raw):
        results = report.get("results") or {}
        for key, into in (("failed_checks", failed), ("skipped_checks", skipped)):
            for check in results.get(key) or []:
                comment = str((check.get("check_result") or {}).get("suppress_comment") or "")
                into.append(Finding(str(check["check_id"]), str(check.get("resource", "")),
                                    str(check.get("file_path", "")), comment.strip()))
    return failed, skipped


def documented_checks(readme: str) -> set[str]:
    """Check ids listed in README's table of deliberate choices."""
    start, end = readme.find(TABLE_START), readme.find(TABLE_END)
    if start < 0 or end < start:
        return set()
    return set(re.findall(r"`(CKV2?_[A-Z0-9_]+)`", readme[start:end]))


def problems(failed: list[Finding], skipped: list[Finding], documented: set[str]) -> list[str]:
    out = [f"failed: {f.line()}" for f in failed]
    out += [f"skipped without a reason: {s.line()}" for s in skipped
            if s.comment.lower() in NO_REASON]
    out += [f"skipped but not in README's table of deliberate choices: {s.line()}"
            for s in skipped if s.check_id not in documented]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.security", description=__doc__)
    parser.add_argument("--checkov", default=str(ROOT / ".venv-security" / "bin" / "checkov"))
    parser.add_argument("--params", type=Path, default=ROOT / "params")
    parser.add_argument("--templates", type=Path, default=ROOT / "templates")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "security")
    args = parser.parse_args(argv)
    if not Path(args.checkov).is_file():
        print(f"security: {args.checkov} not found; run `make security` (it installs checkov)",
              file=sys.stderr)
        return 2
    envs = render_all(args.params, args.templates, args.out)
    proc = subprocess.run(
        [args.checkov, "--directory", str(args.out), "--framework", "cloudformation",
         "--output", "json", "--skip-download"],
        capture_output=True, text=True, check=False,
    )
    try:
        failed, skipped = findings(proc.stdout)
    except json.JSONDecodeError:
        print(f"security: checkov gave no JSON (exit {proc.returncode}):\n{proc.stderr[-2000:]}",
              file=sys.stderr)
        return 2
    found = problems(failed, skipped, documented_checks(args.readme.read_text()))
    for line in found:
        print(line)
    print(f"checkov on {', '.join(envs)}: {len(failed)} failed, {len(skipped)} skipped with "
          f"a reason, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
