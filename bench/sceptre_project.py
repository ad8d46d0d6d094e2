"""A Sceptre project for the rendered env, so Sceptre can be the reference of
bench/compare.py: the same templates, parameters (outputs through !stack_output, the
hosted-zone lookup answered up front) and tags, stacks named as stackgen names them.

    python bench/sceptre_project.py BUILD_DIR OUT_DIR ZONE_ID
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def write(build: Path, out: Path, zone_id: str) -> None:
    manifest = json.loads((build / "manifest.json").read_text())
    env, project = manifest["env"], manifest["project"]
    (out / "config" / env).mkdir(parents=True, exist_ok=True)
    (out / "templates").mkdir(parents=True, exist_ok=True)
    (out / "config" / "config.yaml").write_text(
        f"project_code: {project}\nregion: us-east-1\n")
    for name in manifest["order"]:
        doc = json.loads((build / f"{name}.params.json").read_text())
        shutil.copy(build / f"{name}.yaml", out / "templates" / f"{name}.yaml")
        lines = [f"template:\n  path: {name}.yaml", f"stack_name: {doc['StackName']}",
                 "parameters:"]
        for key, value in doc["Parameters"].items():
            if isinstance(value, dict) and "From" in value:
                stack, _, output = value["From"].partition(".")
                lines.append(f"  {key}: !stack_output {env}/{stack}.yaml::{output}")
            elif isinstance(value, dict):
                lines.append(f"  {key}: {json.dumps(zone_id)}")
            else:
                lines.append(f"  {key}: {json.dumps(str(value))}")
        lines.append("stack_tags:")
        lines += [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in doc["Tags"].items()]
        (out / "config" / env / f"{name}.yaml").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    write(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
