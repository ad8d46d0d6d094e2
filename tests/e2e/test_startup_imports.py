"""What each command imports on its way up (issue 28): nothing it does not need.

``python -X importtime`` lists every module a process imports. A command's start-up
is most of its cost (render of one env is ~0.2 s, of which imports are over half), so
the modules a command may not import are kept here, and so is a budget of how many it
imports at all: a new heavy import on the start-up path fails a test instead of
slowing every run a little. The lists and budgets come from measuring each command
(docs/performance.md); raise a budget only with the measurement that justifies it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Never needed to print help, render, or lint from a warm cache: the AWS SDK and moto
# (deploy, local endpoint), cfn-lint (a lint that misses its cache), rich, and the
# standard library's process pool, metadata reader, networking and email parsing.
HEAVY = frozenset({
    "boto3", "botocore", "s3transfer", "moto", "cfnlint", "rich", "jsonschema", "networkx",
    "sympy", "requests", "urllib3", "docker", "multiprocessing", "concurrent.futures",
    "importlib.metadata", "asyncio", "ssl", "http.client", "email.message", "logging",
    "sqlite3", "xml.etree.ElementTree",
})
# What rendering needs, and help does not.
RENDERING = frozenset({"jinja2", "yaml", "msgspec", "generator.render", "generator.params"})
# Imported for a hint in an error message only (issue 28): never on a render's way.
HINTS_ONLY = frozenset({"difflib"})

# Modules imported from outside generator/ (the standard library's and the dependencies'),
# measured with the locked dependencies: --help 114, render 199 (202 before difflib left
# the start-up path), a warm lint 202. Our own modules are not counted: splitting one into
# rooms (cli/, config/) costs a file each, not a library. The budgets leave room for a
# small module, not for a library.
HELP_BUDGET = 125
RENDER_BUDGET = 205
WARM_LINT_BUDGET = 215


def imported(args: list[str], cwd: Path) -> list[str]:
    """The modules ``stackgen ARGS`` imports, in order, as ``-X importtime`` reports them."""
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "generator", *args],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    names = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line]
    assert names[0] == "imported package", "importtime's header changed"
    return names[1:]


def libraries(names: list[str]) -> list[str]:
    """The imported modules that are not the project's own."""
    return [n for n in names if n != "generator" and not n.startswith("generator.")]


def heavy(names: list[str]) -> list[str]:
    return sorted(n for n in set(names)
                  if n in HEAVY or n.split(".")[0] in HEAVY or n.rsplit(".", 1)[0] in HEAVY)


@pytest.mark.parametrize("args", [["--help"], ["lint", "--help"], ["deploy", "--help"],
                                  ["local", "--help"], ["plan", "--help"]])
def test_help_imports_nothing_heavy_and_nothing_for_rendering(args: list[str],
                                                               project: Path) -> None:
    names = imported(args, project)
    assert heavy(names) == []
    assert sorted(RENDERING & set(names)) == []
    count = len(libraries(names))
    assert count <= HELP_BUDGET, f"`stackgen {' '.join(args)}` imports {count} library modules"


def test_render_imports_what_rendering_needs_and_nothing_heavy(project: Path) -> None:
    names = imported(["render", "--env", "prod"], project)
    assert set(names) >= RENDERING  # the list is read: the command did render
    assert heavy(names) == []
    assert sorted(HINTS_ONLY & set(names)) == []
    count = len(libraries(names))
    assert count <= RENDER_BUDGET, f"render imports {count} library modules"


def test_lint_from_a_warm_cache_imports_no_linter_and_no_process_pool(project: Path) -> None:
    cold = imported(["lint", "--env", "local"], project)
    assert {"cfnlint", "multiprocessing"} <= set(cold)  # a miss runs cfn-lint, in a pool
    warm = imported(["lint", "--env", "local"], project)
    assert heavy(warm) == []
    count = len(libraries(warm))
    assert count <= WARM_LINT_BUDGET, f"a warm lint imports {count} library modules"


def test_the_deploy_path_does_not_import_boto3_nor_ctypes() -> None:
    # ctypes: only the local endpoint's file waits use it (generator/local/waiting.py)
    code = ("import sys; import generator.cli.deploy, generator.deploy.connect, "
            "generator.deploy.workflow, generator.deploy.delete, generator.aws.accounts, "
            "generator.local.manager; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('boto3', 's3transfer', 'ctypes')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


# The deploy's own machinery: a delete (which imports the workflow module) needs none.
DEPLOY_ONLY = ("generator.deploy.engine", "generator.deploy.planner",
               "generator.deploy.stack_work", "generator.deploy.runner",
               "generator.deploy.refactor", "generator.deploy.preflight",
               "generator.ecs.deploy_hooks", "generator.review.plan_report")


def test_the_delete_path_imports_none_of_the_deploys_machinery() -> None:
    code = ("import sys, generator.deploy.workflow, generator.deploy.delete; "
            f"print(sorted(m for m in {DEPLOY_ONLY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_a_deploy_reusing_a_clean_forecast_imports_no_check() -> None:
    """Issue 28: a cache hit (generator/forecast/cache.py) reads a result; the checks, and
    what they import, are for a forecast that runs."""
    code = ("import sys, generator.deploy.connect, generator.forecast.cache; "
            "print(sorted(m for m in sys.modules if m.startswith(("
            "'generator.forecast.checks', 'generator.forecast.runner'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout
