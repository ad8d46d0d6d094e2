"""`stackgen local up --latency` as a process (issue 16)."""

from __future__ import annotations

import os
from pathlib import Path

from generator.local.manager import free_port
from tests.conftest import clients, reset, run_stackgen
from tests.helpers.latency_model import TEMPLATE, execute, stack


def test_local_up_switches_the_model_on_a_running_endpoint(project: Path) -> None:
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    try:
        up = run_stackgen(["local", "up", "--port", port, "--latency", "real",
                           "--time-scale", "2"], cwd=project, env=env)
        assert up.returncode == 0, up.stderr
        assert "latency model: AWS's typical times / 2" in up.stdout
        url = f"http://127.0.0.1:{port}"
        cfn = clients(url).cloudformation
        execute(cfn, "lat", TEMPLATE)
        assert stack(cfn, "lat")["StackStatus"] == "CREATE_IN_PROGRESS"
        again = run_stackgen(["local", "up", "--port", port, "--latency", "off"],
                             cwd=project, env=env)
        assert again.returncode == 0, again.stderr
        reset(url)
        execute(cfn, "lat", TEMPLATE)
        assert stack(cfn, "lat")["StackStatus"] == "CREATE_COMPLETE"
        bad = run_stackgen(["local", "up", "--port", port, "--time-scale", "0"],
                           cwd=project, env=env)
        assert bad.returncode == 2 and "--time-scale" in bad.stderr
    finally:
        run_stackgen(["local", "down"], cwd=project, env=env)

