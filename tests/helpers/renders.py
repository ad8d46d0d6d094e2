"""The shipped envs rendered once per test process, for tests that only read a render.

A render of the shipped params and templates is the same every time (test_render checks
it), so tests that read one share it instead of rendering it again. Each hit checks the
render's fingerprint (every stack's template, parameters and tags): a test that changed a
shared render fails loudly, naming the fix (render its own copy)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from generator.params import load_env
from generator.render import Rendered, render
from tests.conftest import ROOT

_CACHE: dict[tuple[str, tuple[str, ...]], tuple[Rendered, str]] = {}


def fingerprint(rendered: Rendered) -> str:
    return json.dumps(rendered.manifest(), sort_keys=True) + rendered.root.sha256


def shipped(env: str, overrides: Sequence[str] = ()) -> Rendered:
    """``render(load_env(params, env, overrides), templates)`` of the shipped files, shared."""
    key = (env, tuple(overrides))
    if key not in _CACHE:
        rendered = render(load_env(ROOT / "params", env, list(overrides)), ROOT / "templates")
        _CACHE[key] = (rendered, fingerprint(rendered))
    rendered, expected = _CACHE[key]
    if fingerprint(rendered) != expected:
        raise AssertionError(f"a test changed the shared render of {key}: a test that "
                             "modifies a render must render its own (generator.render.render)")
    return rendered
