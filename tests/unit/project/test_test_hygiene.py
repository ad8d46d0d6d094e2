"""The suite tests behaviour through public names: no test reaches a name of generator/
that starts with an underscore (a test that needs a seam makes it public and named)."""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_names_of_generator() -> set[str]:
    """Every private name generator/ defines: functions, classes, attributes, globals."""
    names: set[str] = set()
    for path in (ROOT / "generator").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return {n for n in names if _private(n)}


def reaches_inside(source: str, private: set[str]) -> list[str]:
    """Where ``source`` touches a private name of generator/: imported from a generator
    module, or used as an attribute (``deployer._execute``, ``generator.cfn._code``).
    ``self._x`` in a test's own class is its own business, unless the class subclasses one
    of generator/'s."""
    tree = ast.parse(source)
    from_generator = {a.asname or a.name for node in ast.walk(tree)
                      if isinstance(node, ast.ImportFrom)
                      and (node.module or "").startswith("generator") for a in node.names}
    own: set[int] = set()  # ids of self/cls attribute nodes in the test's own classes
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        if any(isinstance(b, ast.Name) and b.id in from_generator for b in cls.bases):
            continue
        own |= {id(n) for n in ast.walk(cls) if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name) and n.value.id in ("self", "cls")}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("generator"):
            found += [f"line {node.lineno}: from {node.module} import {a.name}"
                      for a in node.names if _private(a.name)]
        elif isinstance(node, ast.Attribute) and node.attr in private and id(node) not in own:
            found.append(f"line {node.lineno}: .{node.attr}")
    return sorted(found, key=lambda f: int(f.split()[1].rstrip(":")))


def test_no_test_touches_a_private_name_of_generator() -> None:
    private = private_names_of_generator()
    offences = {
        path.relative_to(ROOT).as_posix(): found
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if "golden" not in path.parts and "fixtures" not in path.parts
        and (found := reaches_inside(path.read_text(encoding="utf-8"), private))}
    assert offences == {}, "make the seam public and named instead"


def test_the_scan_sees_each_way_in() -> None:
    private = {"_execute", "_code"}
    source = ("from generator.deploy.cfn import _code, CloudFormation\n"
              "from tests.stubs import _local_helper\n"
              "deployer._execute('ecs')\n"
              "class Mine:\n    def f(self): self._mine = 1\n"
              "class Sub(CloudFormation):\n    def f(self): self._code()\n"
              "obj.public()\n")
    assert reaches_inside(source, private) == [
        "line 1: from generator.deploy.cfn import _code", "line 3: ._execute",
        "line 7: ._code"]
    assert {"_call", "_pause", "_heartbeat"} <= private_names_of_generator()
