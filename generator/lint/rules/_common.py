"""Helpers shared by the policy rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Resources whose deletion loses data that must stay.
STATEFUL_TYPES = (
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::Route53::HostedZone",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::EFS::FileSystem",
)


def is_literal(value: Any) -> bool:
    """A plain value, not an intrinsic function (which cannot be judged statically)."""
    return not isinstance(value, dict)


def resources(template: dict[str, Any], *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, res in (template.get("Resources") or {}).items():
        if isinstance(res, dict) and (not types or res.get("Type") in types):
            yield name, res


def props(resource: dict[str, Any]) -> dict[str, Any]:
    value = resource.get("Properties")
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
