"""An answer that is not CloudFormation's (an HTML page) is one line on the command line."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import run_stackgen


def test_the_command_line_shows_the_html_answer_as_one_line(
        failing_endpoint: str, project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=failing_endpoint, AWS_ACCESS_KEY_ID="x",
               AWS_SECRET_ACCESS_KEY="x")
    # An AWS env: a local one follows only a stackgen endpoint and would refuse this one.
    done = run_stackgen(["deploy", "--env", "dev", "--yes", "--no-lint"], cwd=project, env=env)
    assert done.returncode == 1
    assert done.stderr == (
        f"error: get_caller_identity: {failing_endpoint} answered an HTML page ('500 Internal "
        "Server Error'), not an AWS response; that endpoint (or a proxy in front of it) is "
        "failing\n")

