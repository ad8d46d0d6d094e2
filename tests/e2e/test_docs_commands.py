"""The command blocks of README.md and docs/ run as written, and name real commands and
options (issue 25)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.local.manager import free_port
from tests.helpers.docs_commands import ROOT, Block, blocks, pages, stackgen_problems

# Programs a page may name besides stackgen and make (checked by neither click nor make).
OTHER_PROGRAMS = {"aws", "pipx", "uv", "export", "cd", "ls", "cat", "git", "echo", "test"}


def sh_blocks(root: Path = ROOT) -> list[Block]:
    return [b for p in pages(root) for b in blocks(p, root) if b.info.split()[:1] == ["sh"]]


# --- the commands of a block ----------------------------------------------------------

SEPARATORS = {";", "&&", "||", "|", "(", ")", "&", "$(", "\n"}


def commands(script: str) -> list[list[str]]:
    """Each simple command of a shell script as its words (comments, separators and
    leading VAR=value assignments removed)."""
    lexer = shlex.shlex(script.replace("\\\n", " "), posix=True, punctuation_chars=";&|()")
    lexer.whitespace = " \t\r"  # newlines separate commands
    lexer.commenters = "#"
    lexer.wordchars += "$=-./:[]{}*,@~+%^"
    out: list[list[str]] = [[]]
    for token in lexer:
        if token in SEPARATORS or set(token) <= set(";&|()"):
            out.append([])
        elif not out[-1] and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token):
            continue  # an assignment before the command
        else:
            out[-1].append(token.removesuffix("$"))
    return [c for c in out if c]


def make_targets(makefile: Path = ROOT / "Makefile") -> set[str]:
    targets: set[str] = set()
    for line in makefile.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_. -]+):(?!=)", line)
        if m:
            targets.update(m.group(1).split())
    return targets


def block_problems(block: Block, targets: set[str]) -> list[str]:
    problems = []
    parsed = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
    if parsed.returncode != 0:
        problems.append(f"does not parse: {parsed.stderr.strip()}")
    for words in commands(block.text):
        program = words[0]
        if program in ("stackgen", ".venv/bin/stackgen"):
            problems += stackgen_problems(words[1:])
        elif program == "make":
            problems += [f"no make target {w!r}" for w in words[1:]
                         if "=" not in w and not w.startswith("-") and w not in targets]
        elif program in (".", "source"):
            if len(words) != 2 or not (words[1] == ".venv/bin/activate" or (ROOT / words[1]).is_file()):
                problems.append(f"sources {' '.join(words[1:])!r}, which a clone does not have")
        elif program not in OTHER_PROGRAMS:
            problems.append(f"runs {program!r}: not a program these pages are known to use")
    return [f"{block}: {p}" for p in problems]


def test_every_command_block_names_real_commands_and_options() -> None:
    targets = make_targets()
    found = sh_blocks()
    assert len([b for b in found if b.runs]) >= 10, "the README's tour has gone missing"
    problems = [p for b in found for p in block_problems(b, targets)]
    assert not problems, "\n".join(problems)


def test_the_checker_reads_separators_assignments_and_continuations() -> None:
    script = ("NEW=$(aws secretsmanager x --a b) # comment\n"
              "stackgen status --env local; stackgen outputs \\\n  --env local && make deploy\n")
    assert commands(script) == [["aws", "secretsmanager", "x", "--a", "b"],
                                ["stackgen", "status", "--env", "local"],
                                ["stackgen", "outputs", "--env", "local"], ["make", "deploy"]]
    targets = make_targets()
    assert {"deploy", "test", "delete", "local-up"} <= targets
    bad = Block("x.md", 1, "sh", "make deploi\nfrobnicate --all\n")
    assert block_problems(bad, targets) == [
        "x.md:1: no make target 'deploi'",
        "x.md:1: runs 'frobnicate': not a program these pages are known to use"]


# --- e2e: run them ------------------------------------------------------------------


def clone_like_copy(dest: Path) -> Path:
    """The files a clone has (tracked, plus new files not ignored), copied to ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def with_this_venv(copy: Path) -> Path:
    """``.venv`` of the copy: this interpreter's venv for its commands, and a fresh
    install stamp so `make` does not install again (nor into this venv)."""
    venv_bin = Path(sys.executable).parent
    (copy / ".venv").mkdir()
    (copy / ".venv" / "bin").symlink_to(venv_bin, target_is_directory=True)
    for name in (".lock-stamp", ".installed-stamp"):  # the Makefile's two install steps
        (copy / ".venv" / name).touch()
    old = (copy / ".venv" / ".lock-stamp").stat().st_mtime - 60
    for source in ("pyproject.toml", "requirements/dev.txt"):
        os.utime(copy / source, (old, old))
    return venv_bin


def user_env(venv_bin: Path) -> dict[str, str]:
    """A user's shell: the venv on PATH, no AWS settings of the machine running the tests.
    The quick start's user has no Docker (README): the endpoint runs no containers, even
    where CI started a daemon for the `docker` tests (their images are offline builds,
    not the app's image, which no registry here can serve)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "STACKGEN_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["STACKGEN_LOCAL_CONTAINERS"] = "off"
    return env


@pytest.fixture
def docs_copy(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    copy = clone_like_copy(tmp_path / "clone")
    env = user_env(with_this_venv(copy))
    stackgen = [str(copy / ".venv" / "bin" / "stackgen")]
    up = subprocess.run([*stackgen, "local", "up", "--port", str(free_port())], cwd=copy,
                        env=env, capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    try:
        yield copy, env
    finally:
        subprocess.run([*stackgen, "local", "down"], cwd=copy, env=env, capture_output=True,
                       timeout=60)


@pytest.mark.e2e
def test_every_command_block_runs_as_written_and_leaves_the_env_as_its_params(
        docs_copy: tuple[Path, dict[str, str]]) -> None:
    copy, env = docs_copy
    timings = []
    for block in sh_blocks(copy):
        if not block.runs:
            continue
        started = time.monotonic()
        ran = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.text], cwd=copy, env=env,
                             capture_output=True, text=True, timeout=900)
        timings.append(f"{block}: {time.monotonic() - started:.1f} s")
        assert ran.returncode == 0, (f"{block} exited {ran.returncode}:\n{block.text}\n--- stdout\n"
                                     f"{ran.stdout[-3000:]}\n--- stderr\n{ran.stderr[-3000:]}")
    again = subprocess.run(["stackgen", "deploy", "--env", "local", "--yes", "--events", "ndjson"],
                           cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    results = {r["stack"]: r["state"] for r in map(json.loads, again.stdout.splitlines())
               if r.get("type") == "result"}
    assert results and set(results.values()) == {"UNCHANGED"}, results
    print("\n".join(timings))


def test_make_says_once_where_stackgen_is(tmp_path: Path) -> None:
    # `make deploy` left `stackgen` off PATH and never said where it was (issue 25).
    for name in ("Makefile", "pyproject.toml", "requirements/dev.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    with_this_venv(tmp_path)
    first = subprocess.run(["make", "-s", "install"], cwd=tmp_path, capture_output=True, text=True)
    again = subprocess.run(["make", "-s", "install"], cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.strip() == ("stackgen is installed at .venv/bin/stackgen: run it by that path, "
                                    "or '. .venv/bin/activate' to have 'stackgen' on PATH in this shell")
    assert again.stdout == ""

