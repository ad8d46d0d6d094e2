"""`stackgen forecast` as a user runs it: exit codes and formats."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_stackgen
from tests.helpers.forecast import _CROWDED

# --- the command -----------------------------------------------------------------

def test_cli_exit_codes_and_formats(project: Path) -> None:
    crowded = [a for o in _CROWDED for a in ("--set", o)]
    failing = run_stackgen(["--no-color", "forecast", "--env", "dev", "--offline", *crowded],
                           cwd=project)
    assert failing.returncode == 1, failing.stderr
    assert "F102 error" in failing.stdout and "2 errors, 3 warnings" in failing.stdout  # the nightly job too
    assert run_stackgen(["forecast", "--env", "local", "--offline"], cwd=project).returncode == 0
    clean = run_stackgen(["forecast", "--env", "fargate", "--offline", "--format", "json"],
                         cwd=project)
    assert clean.returncode == 0, clean.stderr
    assert '"findings": []' in clean.stdout
    warn = run_stackgen(["forecast", "--env", "dev", "--offline", "--fail-on", "warning",
                         "--set", "asg.instance_type=p5.48xlarge",
                         "--format", "sarif", "-o", "out/f.sarif"], cwd=project)
    assert warn.returncode == 1 and (project / "out" / "f.sarif").is_file()
    bad = run_stackgen(["forecast", "--env", "local", "--offline", "--set", "asg.max_sise=3"],
                       cwd=project)
    assert bad.returncode == 2 and "max_sise" in bad.stderr and "Traceback" not in bad.stderr
    assert not (project / "build").exists()  # read-only: nothing rendered to disk


def test_cli_without_an_endpoint_points_at_offline(project: Path) -> None:
    import os

    from generator.local.manager import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
               AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    # An AWS-target env: a local env refuses an endpoint variable that is not ours (exit 2).
    result = run_stackgen(["forecast", "--env", "dev"], cwd=project, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot reach AWS" in result.stderr and "--offline" in result.stderr

