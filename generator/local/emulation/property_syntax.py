"""Pre-deployment validation of property syntax: a property the resource's schema does not
allow fails the change set.

AWS CloudFormation user guide, "Validate stack deployments": "Property syntax validation
against resource schemas" is one of the checks run on every change set, in FAIL mode
("FAIL mode blocks change set execution ... for property syntax errors and resource name
conflicts"), reported as a VALIDATION_ERROR event of DescribeEvents with the template path
of the fault (API reference, "OperationEvent": ValidationName, ValidationPath). moto 5.2.5
validates no property: it creates the change set CREATE_COMPLETE and AVAILABLE.

The schemas are the resource provider schemas cfn-lint ships (cfnlint/data/schemas: a
region's file maps each type to a schema file), read as files so the endpoint does not
import cfn-lint itself (seconds), each parsed once per type. Emulated: a property the
schema does not name (``additionalProperties: false``), a required property missing, a
literal of the wrong JSON type, at any depth. A value built by an intrinsic function
(``Ref``, ``Fn::*``) is not judged, nor anything inside it, and scalars are coerced as
CloudFormation coerces them (``"5"`` for an integer, ``5`` for a string, ``"true"`` for a
boolean). Not emulated: patterns, enums, lengths and ranges.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import create

# The keywords judged: structure and JSON types; patterns, enums, lengths and ranges are
# left out (several of cfn-lint's patterns are not Python regular expressions).
KEYWORDS = ("$ref", "properties", "patternProperties", "additionalProperties", "items",
            "required", "type", "allOf")
Structural = create(meta_schema=Draft7Validator.META_SCHEMA,
                    validators={k: Draft7Validator.VALIDATORS[k] for k in KEYWORDS},
                    type_checker=Draft7Validator.TYPE_CHECKER)

VALIDATION_NAME = "PROPERTY_VALIDATION"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Fault:
    """One property-syntax fault of a resource: where (below its Properties) and why."""

    logical_id: str
    resource_type: str
    path: tuple[str, ...]  # keys and indexes below Properties
    reason: str

    @property
    def validation_path(self) -> str:
        return "/".join(["", "Resources", self.logical_id, "Properties", *self.path])


def _schemas_dir() -> Path | None:
    spec = importlib.util.find_spec("cfnlint")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return None
    found = Path(spec.origin).parent / "data" / "schemas"
    return found if (found / "providers").is_dir() else None


@cache
def _types(region: str) -> Mapping[str, str]:
    """Resource type -> schema file name, for ``region`` (us-east-1's when it has none)."""
    base = _schemas_dir()
    if base is None:
        return {}
    path = base / "providers" / f"{region}.json"
    if not path.is_file():
        path = base / "providers" / f"{DEFAULT_REGION}.json"
    loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@cache
def validator(resource_type: str, region: str = DEFAULT_REGION) -> Validator | None:
    """The schema of ``resource_type`` as a validator, or None when cfn-lint has none."""
    digest = _types(region).get(resource_type)
    base = _schemas_dir()
    if digest is None or base is None:
        return None
    schema = json.loads((base / "resources" / f"{digest}.json").read_text(encoding="utf-8"))
    return Structural(schema)


def intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return key == "Ref" or str(key).startswith("Fn::")


def _holds_intrinsic(value: Any) -> bool:
    if intrinsic(value):
        return True
    if isinstance(value, dict):
        return any(_holds_intrinsic(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_intrinsic(v) for v in value)
    return False


def _number(text: str, integral: bool) -> bool:
    try:
        if integral:
            int(text)
        else:
            float(text)
    except ValueError:
        return False
    return True


def _coerced(instance: Any, expected: Any) -> bool:
    """CloudFormation takes a scalar of another JSON type where it converts cleanly."""
    types = {expected} if isinstance(expected, str) else set(expected)
    if isinstance(instance, (bool, int, float)) and "string" in types:
        return True
    if isinstance(instance, str):
        if "boolean" in types and instance.lower() in ("true", "false"):
            return True
        if "integer" in types and _number(instance, integral=True):
            return True
        if "number" in types and _number(instance, integral=False):
            return True
    return False


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "null"


def _faults_of(error: SchemaError) -> Iterator[tuple[tuple[str, ...], str]]:
    path = tuple(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        if intrinsic(error.instance):
            return
        schema = error.schema if isinstance(error.schema, dict) else {}
        known = set(schema.get("properties") or {})
        patterns = list(schema.get("patternProperties") or {})
        for key in error.instance:
            if key not in known and not any(re.search(p, key) for p in patterns):
                yield (*path, key), f"Encountered unsupported property {key}"
    elif error.validator == "required" and isinstance(error.instance, dict):
        if intrinsic(error.instance):
            return
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else "?"
        yield (*path, missing), f"Required property {missing} is missing"
    elif error.validator == "type":
        if _holds_intrinsic(error.instance) or _coerced(error.instance, error.validator_value):
            return
        expected = error.validator_value
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        yield path, f"Value of {_kind(error.instance)} type where {wanted} is expected"


def faults(logical_id: str, resource: Mapping[str, Any],
           region: str = DEFAULT_REGION) -> list[Fault]:
    """The property-syntax faults of one template resource (none for a type cfn-lint's
    schemas do not know, such as custom resources)."""
    kind = str(resource.get("Type", ""))
    check = validator(kind, region)
    properties = resource.get("Properties", {})
    if check is None or intrinsic(properties):
        return []
    found: list[Fault] = []
    try:
        errors = list(check.iter_errors(properties if isinstance(properties, dict) else {}))
    except re.error:  # a patternProperties key Python cannot read: not judged
        return []
    for error in errors:
        # An error under an intrinsic function (Fn::If's branches, a Ref's name) is the
        # function's, resolved later, not the template's literal.
        if any(str(p) == "Ref" or str(p).startswith("Fn::") for p in error.absolute_path):
            continue
        for path, reason in _faults_of(error):
            found.append(Fault(logical_id, kind, path, reason))
    return sorted(found, key=lambda f: f.path)


def template_faults(template: Mapping[str, Any], region: str = DEFAULT_REGION) -> list[Fault]:
    return [f for lid, r in (template.get("Resources") or {}).items() if isinstance(r, dict)
            for f in faults(str(lid), r, region)]
