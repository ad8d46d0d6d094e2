"""Many envs in one process (issue 16 item 5): CPU of `stackgen deploy` for 8 envs in
one run against one env, on the local endpoint; and one env with two targets (item 6:
this account, and another through STS AssumeRole) against the same env with none.

The envs are copies of `local` at their own domains (test-only, in a temporary
project). CPU is the stackgen process's user + system time (getrusage of the child;
the endpoint is a separate, detached process and does not count). Target: 8 envs
at most 1.2x one env's CPU plus 0.05 s per extra stack.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from generator.local.manager import free_port

ROOT = Path(__file__).resolve().parent.parent
STACKGEN = str(ROOT / ".venv" / "bin" / "stackgen")
ENVS = [f"m{i}" for i in range(1, 9)]
RUNS = 2
REGION = "us-east-1"
OTHER = "111111111111"  # a second account, reached through a role moto's STS grants
ROLE = f"arn:aws:iam::{OTHER}:role/stackgen-deployer"


def add_envs(work: Path) -> None:
    local = (work / "params" / "local.yaml").read_text()
    for name in ENVS:
        (work / "params" / f"{name}.yaml").write_text(
            local.replace("domain: kubenews.stackgen.test", f"domain: {name}.stackgen.test"))


def add_targets(work: Path) -> None:
    local = (work / "params" / "local.yaml").read_text()
    (work / "params" / "tt.yaml").write_text(
        local.replace("domain: kubenews.stackgen.test", "domain: tt.stackgen.test")
        + f'\ntargets:\n  - account: "123456789012"\n    region: {REGION}\n'
        + f'  - account: "{OTHER}"\n    region: {REGION}\n    role_arn: {ROLE}\n')


def seed_other_account(url: str) -> None:
    """The other account's zone (`stackgen local up` seeds the default account only)."""
    import boto3

    from generator.aws.accounts import assume

    sts = boto3.client("sts", region_name=REGION, endpoint_url=url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    session = boto3.Session(region_name=REGION, **assume(sts, ROLE, "bench"))
    session.client("route53", endpoint_url=url).create_hosted_zone(
        Name="stackgen.test.", CallerReference=str(time.time()))


def cpu_run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds, stdout) of one stackgen run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([STACKGEN, "--no-color", *args], cwd=cwd, env=env, check=False,
                         capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"stackgen {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, out.stdout


def stacks_per_env(stdout: str) -> int:
    return stdout.count("is up to date") or 1


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("params", "templates"):
            shutil.copytree(ROOT / name, work / name)
        add_envs(work)
        add_targets(work)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # deploy's lint gate then hits its cache, in both runs alike
        lint = ["lint"] + [a for e in [*ENVS, "tt"] for a in ("--env", e)]
        subprocess.run([STACKGEN, *lint], cwd=work, env=env, check=True, capture_output=True)
        port = str(free_port())
        url = subprocess.run([STACKGEN, "local", "up", "--print-url", "--port", port], cwd=work,
                             env=env, check=True, capture_output=True, text=True).stdout.strip()
        env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing")
        seed_other_account(url)
        one = ["--env", ENVS[0]]
        many = [a for e in ENVS for a in ("--env", e)]
        figures: dict[str, list[tuple[float, float]]] = {}
        try:
            for _ in range(RUNS):
                for label, envs in (("1 env", one), (f"{len(ENVS)} envs", many)):
                    cpu, wall, _ = cpu_run(["deploy", *envs, "--yes"], work, env)
                    figures.setdefault(f"create, {label}", []).append((cpu, wall))
                    cpu, wall, out = cpu_run(["deploy", *envs, "--yes"], work, env)
                    figures.setdefault(f"no-op, {label}", []).append((cpu, wall))
                    per_env = stacks_per_env(out) // (len(envs) // 2)
                    cpu_run(["delete", *envs, "--yes"], work, env)
                cpu, wall, _ = cpu_run(["deploy", "--env", "tt", "--yes"], work, env)
                figures.setdefault("create, 2 targets", []).append((cpu, wall))
                cpu, wall, _ = cpu_run(["deploy", "--env", "tt", "--yes"], work, env)
                figures.setdefault("no-op, 2 targets", []).append((cpu, wall))
                cpu_run(["delete", "--env", "tt", "--yes"], work, env)
        finally:
            subprocess.run([STACKGEN, "local", "down"], cwd=work, env=env, check=False,
                           capture_output=True)
    print(f"{len(ENVS)} envs x {per_env} stacks in one process vs 1 env "
          f"(median of {RUNS} runs; CPU = user + system of the stackgen process)")
    median = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v))
              for k, v in figures.items()}
    for label, (cpu, wall) in median.items():
        print(f"  {label:<18} CPU {cpu:6.2f} s   wall {wall:6.2f} s")
    extra = (len(ENVS) - 1) * per_env
    for kind in ("create", "no-op"):
        base = median[f"{kind}, 1 env"][0]
        got = median[f"{kind}, {len(ENVS)} envs"][0]
        budget = 1.2 * base + 0.05 * extra
        print(f"  {kind}: {got:.2f} s CPU for {len(ENVS)} envs = {got / base:.2f}x one env "
              f"({(got - base) / extra * 1000:.0f} ms per extra stack); target "
              f"<= 1.2 x {base:.2f} + 0.05 x {extra} = {budget:.2f} s: "
              f"{'met' if got <= budget else 'NOT met'}")
        two = median[f"{kind}, 2 targets"][0]
        print(f"  {kind}: {two:.2f} s CPU for one env on 2 targets (2 accounts, STS) = "
              f"{two / base:.2f}x one env on its own")


if __name__ == "__main__":
    main()
