"""Helpers shared by the tests split from test_docs_commands.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from generator.cli import cli
from generator.params import load_env
from tests.conftest import ROOT


@dataclass(frozen=True)
class Block:
    page: str   # path relative to the repository
    line: int   # line of the opening fence
    info: str   # the fence's info string: "sh", "sh not-run", "text", ...
    text: str

    @property
    def runs(self) -> bool:
        return self.info == "sh"

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def pages(root: Path = ROOT) -> list[Path]:
    """README first, then every page under docs/ in path order: the order a reader meets them."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def blocks(path: Path, root: Path = ROOT) -> list[Block]:
    """The fenced blocks of a Markdown page (fences may be indented, inside list items)."""
    found: list[Block] = []
    opened: tuple[int, str, str] | None = None  # line, indent, info
    body: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = raw.lstrip()
        if opened is None:
            if stripped.startswith("```"):
                opened = (number, raw[: len(raw) - len(stripped)], stripped[3:].strip())
                body = []
        elif stripped.startswith("```") and not stripped[3:].strip():
            found.append(Block(str(path.relative_to(root)), opened[0], opened[2], "\n".join(body)))
            opened = None
        else:
            body.append(raw.removeprefix(opened[1]))
    assert opened is None, f"{path.relative_to(root)}:{opened and opened[0]}: fence never closed"
    return found


def _option(command: click.Command, name: str) -> click.Parameter | None:
    if name in ("-h", "--help"):
        return click.Option(["--help"], is_flag=True, is_eager=True)
    for p in command.params:
        if isinstance(p, click.Option) and (name in p.opts or name in p.secondary_opts):
            return p
    return None


def stackgen_problems(words: list[str]) -> list[str]:
    """What in one `stackgen ...` command names no command, option or choice, or an env
    or --set value the params refuse. Empty when it is all real."""
    command: click.Command = cli
    path = ["stackgen"]
    envs: list[str] = []
    overrides: list[str] = []
    rest = iter(words)
    for word in rest:
        if word == "--":
            break  # the rest is a task's command line (run-task)
        if word.startswith("-") and word != "-":
            name, eq, inline = word.partition("=")
            param = _option(command, name)
            if param is None:
                return [f"`{' '.join(path)}` has no option {name}"]
            if param.is_eager:
                return []  # --help, --version: the command line ends there
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                continue
            value = inline if eq else next(rest, None)
            if value is None:
                return [f"`{' '.join(path)} {name}` needs a value"]
            if isinstance(param.type, click.Choice) and value not in param.type.choices:
                return [f"`{' '.join(path)} {name}`: {value!r} is not one of {param.type.choices}"]
            if name in ("--env", "-e"):
                envs.append(value)
            elif name == "--set":
                overrides.append(value)
            continue
        if isinstance(command, click.Group):
            # get_command: the stackgen group imports a command's module when it is named
            sub = command.get_command(click.Context(command), word)
            if sub is None:
                return [f"`{' '.join(path)}` has no command {word!r}"]
            command = sub
            path.append(word)
    if isinstance(command, click.Group):
        return [f"`{' '.join(path)}` names no command"]
    problems = []
    for env in envs:
        if not (ROOT / "params" / f"{env}.yaml").is_file():
            problems.append(f"`{' '.join(path)}`: no env {env!r} in params/")
        else:
            try:
                load_env(ROOT / "params", env, tuple(overrides))
            except Exception as e:  # the params' own one-line error is the finding
                problems.append(f"`{' '.join(path)} --env {env}`: {e}")
    return problems
