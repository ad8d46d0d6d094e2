"""JSON Schema of params files, from the typed model."""

from __future__ import annotations

from typing import Any

from generator.config import Environment


def params_schema() -> dict[str, Any]:
    schema = Environment.model_json_schema(mode="validation")
    # Env files override the base file, so no key is required in any one file.
    schema.pop("required", None)
    for definition in schema.get("$defs", {}).values():
        definition.pop("required", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "stackgen params"
    return schema
