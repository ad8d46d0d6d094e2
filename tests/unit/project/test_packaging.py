"""`pipx install .` / `uv tool install .` give a working `stackgen` (issue 25): a
non-editable install holds only what pyproject.toml declares, so every module and data
file the command reads must be declared there (a file missing from the wheel works in
the editable venv and breaks only for those who install the command alone)."""

from __future__ import annotations

import fnmatch
import importlib
import tomllib
from pathlib import Path

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _source_files() -> list[Path]:
    return [p for p in (ROOT / "generator").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts]


def test_the_entry_point_names_a_callable() -> None:
    target = PYPROJECT["project"]["scripts"]["stackgen"]
    module, _, name = target.partition(":")
    assert callable(getattr(importlib.import_module(module), name))


def test_every_package_is_found_by_the_build() -> None:
    # setuptools' find (not namespace packages) takes only directories with __init__.py:
    # a subpackage without one would be missing from the wheel.
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    missing = sorted(str(d.relative_to(ROOT)) for d in {p.parent for p in _source_files()
                                                        if p.suffix == ".py"}
                     if not (d / "__init__.py").is_file()
                     or not any(fnmatch.fnmatch(".".join(d.relative_to(ROOT).parts), pattern)
                                for pattern in include))
    assert not missing, f"not packaged (add __init__.py): {missing}"


def test_every_data_file_is_package_data() -> None:
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["generator"]
    data = [str(p.relative_to(ROOT / "generator")) for p in _source_files()
            if p.suffix not in (".py", ".pyi", ".typed")]
    assert data, "the price snapshot is package data: the test no longer sees it"
    undeclared = [f for f in data if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert not undeclared, f"add to [tool.setuptools.package-data] in pyproject.toml: {undeclared}"
