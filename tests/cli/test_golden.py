"""Golden files: every stack of every shipped env, compared as parsed YAML.

Refresh after an intended template change with ``make golden`` and review the
diff of tests/golden/ like any other code change.
"""

from __future__ import annotations

import os

import pytest

from generator.params import load_env
from generator.render import Rendered, render
from generator.yamlsrc import load_cfn
from tests.conftest import ENVS, ROOT

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("STACKGEN_UPDATE_GOLDEN") == "1"


def _rendered(env: str) -> Rendered:
    return render(load_env(ROOT / "params", env), ROOT / "templates")


def _documents(rendered: Rendered) -> dict[str, str]:
    docs = {f"{name}.yaml": s.template for name, s in rendered.stacks.items()}
    docs["nested/root.yaml"] = rendered.root.template
    return docs


@pytest.mark.parametrize("env", ENVS)
def test_rendered_templates_match_golden(env: str) -> None:
    docs = _documents(_rendered(env))
    folder = GOLDEN / env
    if UPDATE:
        for old in folder.rglob("*.yaml"):
            old.unlink()
        for rel, text in docs.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text)
    expected = {str(p.relative_to(folder)) for p in folder.rglob("*.yaml")}
    assert expected == set(docs), "stacks differ from golden; run `make golden` if intended"
    for rel, text in docs.items():
        golden = load_cfn((folder / rel).read_text())
        assert load_cfn(text) == golden, f"{env}/{rel} differs; run `make golden` if intended"
