"""JSON Schema of params files, from the typed model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from generator import config
from generator.config import Environment


def params_schema() -> dict[str, Any]:
    generated = msgspec.json.schema(Environment)
    defs = generated["$defs"]
    # The root object inline, as editors expect; env files override the base file,
    # so no key is required in any one file.
    schema: dict[str, Any] = {**defs.pop("Environment"), "$defs": defs}
    schema.pop("required", None)
    for definition in defs.values():
        definition.pop("required", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "stackgen params"
    return schema


def comparable(schema: Any) -> Any:
    """``schema`` as it means: descriptions with their whitespace collapsed, since how a
    docstring's indentation reaches the schema is msgspec's choice (0.23 dedents them, older
    versions kept it), not a change of meaning."""
    if isinstance(schema, dict):
        return {k: " ".join(v.split()) if k == "description" and isinstance(v, str)
                else comparable(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [comparable(v) for v in schema]
    return schema


def stale(schema_file: Path, readme: Path) -> list[str]:
    """What `make docs` would change, one line each: the committed schema when its meaning
    differs from the model's, the README when its params reference's text differs."""
    out = []
    if comparable(json.loads(schema_file.read_text(encoding="utf-8"))) != \
            comparable(json.loads(json.dumps(params_schema()))):
        out.append(f"{schema_file} differs from the params model: run `make docs`")
    text = readme.read_text(encoding="utf-8")
    if with_reference(text) != text:
        out.append(f"{readme}'s params reference differs from the params model: run `make docs`")
    return out


def _type_of(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        return " \\| ".join(_type_of(p) for p in prop["anyOf"] if p.get("type") != "null")
    if "$ref" in prop:
        return "mapping"
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    if kind == "object" and "patternProperties" in prop:
        inner = next(iter(prop["patternProperties"].values()))
        return f"map of name → {_type_of(inner)}"
    if kind == "object" and "additionalProperties" in prop:
        return f"map of name → {_type_of(prop['additionalProperties'])}"
    return str(kind)


def _factory_defaults() -> dict[str, dict[str, Any]]:
    """Defaults that come from factories, which the schema cannot show: read them off
    a default instance of every type that has one."""
    out = {}
    for name in dir(config):
        cls = getattr(config, name)
        if isinstance(cls, type) and issubclass(cls, msgspec.Struct):
            try:
                out[name] = msgspec.to_builtins(cls())
            except (TypeError, ValueError):  # required fields, or rules a bare default breaks
                continue
    return out


def _default_of(prop: dict[str, Any], fallback: Any = None) -> str:
    if "default" in prop:
        value: Any = prop["default"]
    elif fallback is not None:
        value = fallback
    else:
        return ""
    if isinstance(value, dict) or (isinstance(value, list) and value and
                                   isinstance(value[0], dict)):
        return ""
    value = json.dumps(value)
    return f"`{value}`" if len(value) < 60 else "(see schema)"


def params_reference() -> str:
    """A Markdown table of every params key, generated from the schema."""
    schema = params_schema()
    defs = schema["$defs"]
    factory = _factory_defaults()
    rows = ["| key | type | default | description |", "|---|---|---|---|"]

    def walk(properties: dict[str, Any], prefix: str, owner: str) -> None:
        for name in properties:
            prop = properties[name]
            key = f"{prefix}{name}"
            ref = prop.get("$ref") or next(
                (p["$ref"] for p in prop.get("anyOf", []) if "$ref" in p), None)
            inner = prop.get("items", {}).get("$ref") or next(
                (p.get("$ref") for p in prop.get("patternProperties", {}).values()), None) or (
                prop.get("additionalProperties", {}).get("$ref")
                if isinstance(prop.get("additionalProperties"), dict) else None)
            desc = prop.get("description") or defs.get((ref or "").split("/")[-1], {}).get(
                "description", "")
            fallback = factory.get(owner, {}).get(name)
            rows.append(f"| `{key}` | {_type_of(prop)} | {_default_of(prop, fallback)} | "
                        f"{' '.join(desc.split())} |")
            target = ref or inner
            if target:
                sub_name = target.split("/")[-1]
                suffix = "[]." if prop.get("type") == "array" else (
                    ".<name>." if inner and not ref else ".")
                walk(defs[sub_name]["properties"], key + suffix, sub_name)

    walk(schema["properties"], "", "Environment")
    return "\n".join(rows) + "\n"


REFERENCE_PAGE = "docs/params.md"
REFERENCE_START = "<!-- params-reference:start -->"
REFERENCE_END = "<!-- params-reference:end -->"


def with_reference(page: str) -> str:
    """``page`` with the generated params reference between its markers."""
    head, _, rest = page.partition(REFERENCE_START)
    _, _, tail = rest.partition(REFERENCE_END)
    return f"{head}{REFERENCE_START}\n{params_reference()}{REFERENCE_END}{tail}"


def main(argv: list[str]) -> int:
    """`make docs`: refresh docs/params.md's params reference; `--check` (CI): say in one line
    per file what is stale, exit 1, change nothing."""
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    readme = Path(args[0] if args else REFERENCE_PAGE)
    if check:
        lines = stale(Path(args[1] if len(args) > 1 else "params/schema.json"), readme)
        for line in lines:
            print(line, file=sys.stderr)
        return 1 if lines else 0
    readme.write_text(with_reference(readme.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
