"""YAML reading with source positions, and a CloudFormation-aware loader.

Params files are loaded into plain data plus a map from key path to line, so
that a validation error can name ``file:line`` of the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml is much faster; fall back to the pure-Python loader
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

from generator.errors import ParamsError

KeyPath = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each key path of a merged document was last written."""

    lines: dict[KeyPath, tuple[str, int]] = field(default_factory=dict)

    def locate(self, path: KeyPath) -> tuple[str, int] | None:
        # Walk up until a recorded ancestor: a missing key is reported at its parent.
        for end in range(len(path), -1, -1):
            hit = self.lines.get(path[:end])
            if hit:
                return hit
        return None

    def update(self, other: SourceMap) -> None:
        self.lines.update(other.lines)


_constructor = yaml.constructor.SafeConstructor()


def _convert(node: yaml.Node, path: KeyPath, src: str, smap: SourceMap) -> Any:
    smap.lines[path] = (src, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _constructor.construct_object(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise ParamsError(
                    f"duplicate key '{'.'.join(map(str, (*path, key)))}'; keep one of them",
                    src,
                    key_node.start_mark.line + 1,
                )
            out[key] = _convert(value_node, (*path, key), src, smap)
            # Point errors about a key at the key itself, not at its value.
            smap.lines[(*path, key)] = (src, key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), src, smap) for i, item in enumerate(node.value)]
    return _constructor.construct_object(node)


def load_with_lines(path: Path) -> tuple[dict[str, Any], SourceMap]:
    """Load one YAML mapping, recording the line of every key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError("file not found", path) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        raise ParamsError(f"malformed YAML: {problem}; fix the syntax", path, line) from None
    smap = SourceMap()
    if node is None:
        return {}, smap
    if not isinstance(node, yaml.MappingNode):
        raise ParamsError(
            "top level must be a mapping of keys to values", path, node.start_mark.line + 1
        )
    data = _convert(node, (), str(path), smap)
    assert isinstance(data, dict)
    return data, smap


# --- CloudFormation templates -------------------------------------------------


class CfnLoader(_Loader):  # type: ignore[misc,valid-type]
    """Safe loader that understands CloudFormation short-form tags."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_cfn(text: str) -> dict[str, Any]:
    """Parse a rendered template (short-form tags become long form)."""
    data = yaml.load(text, Loader=CfnLoader)
    return data if isinstance(data, dict) else {}
