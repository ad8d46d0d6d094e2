"""The command blocks of README.md and docs/ are true (issue 25).

Convention of the pages: a ```` ```sh ```` block is a set of commands meant to be run;
```` ```sh not-run ```` is one that needs what a test does not have (an AWS account,
installing into the home directory, `make test` itself); output is ```` ```text ````.

- Fast tier: every fence names its language; every ``sh`` block parses (``bash -n``);
  every command in it is a program we expect, ``stackgen`` commands and options exist
  (click introspection, choices included), ``--env`` names an env of ``params/`` and
  ``--set`` values load; ``make`` targets exist in the Makefile.
- ``e2e``: every runnable block, README first, then ``docs/`` in path order, runs as
  written with bash in a copy of the repository (the files a clone has), with the venv on
  PATH and a local endpoint of its own on a free port; afterwards
  ``stackgen deploy --env local --yes`` must find every stack unchanged, so the tour
  leaves the env as its params say.
"""

from __future__ import annotations

import re
import shlex

import pytest

from tests.helpers.docs_commands import ROOT, blocks, pages, stackgen_problems

README_LIMIT = 350  # issue 25: the README is a guide, the reference lives in docs/


# --- fast tier ----------------------------------------------------------------------


def test_every_fence_names_its_language() -> None:
    bad = [f"{b}: ```{b.info}" for p in pages() for b in blocks(p)
           if not b.info or b.info.split()[0] in ("shell", "bash", "console", "zsh")
           or (b.info.split()[0] == "sh" and b.info not in ("sh", "sh not-run"))]
    assert not bad, ("a command block is ```sh (run by the docs test) or ```sh not-run; "
                     f"output is ```text: {bad}")


def test_readme_is_a_guide_not_a_reference() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < README_LIMIT
    assert "../" not in re.sub(r"\]\(docs/[^)]*\)", "", readme), "a link leaves the repository"


@pytest.mark.parametrize("words, problem", [
    ("stackgen deploy --env local --yess", "has no option --yess"),
    ("stackgen deplo --env local", "has no command 'deplo'"),
    ("stackgen lint --all-envs --format sarifx", "'sarifx' is not one of"),
    ("stackgen plan --env nosuch", "no env 'nosuch'"),
    ("stackgen local", "names no command"),
    ("stackgen --verison", "has no option --verison"),
    ("stackgen plan --env local --set rds.nosuch=1", "rds.nosuch"),
])
def test_a_drifted_command_is_named(words: str, problem: str) -> None:
    found = stackgen_problems(shlex.split(words)[1:])
    assert found and problem in found[0], found


# Pages other sessions of issue 25 are writing; the README links them already.
PENDING_PAGES: set[str] = set()


def test_every_relative_link_reaches_a_file_of_the_repository() -> None:
    broken = []
    for page in [*pages(), ROOT / "CHANGELOG.md"]:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            resolved = (page.parent / target).resolve()
            name = str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(resolved)
            if not resolved.is_relative_to(ROOT):
                broken.append(f"{page.relative_to(ROOT)}: {target} leaves the repository")
            elif not resolved.exists() and name not in PENDING_PAGES:
                broken.append(f"{page.relative_to(ROOT)}: {target} does not exist")
    assert not broken, broken
