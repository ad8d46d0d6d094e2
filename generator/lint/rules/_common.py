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


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def referenced(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else target).split(".")[0]
    return None


def references(value: Any) -> set[str]:
    """Every logical id referenced anywhere inside ``value`` (lists, Fn::Join, ...)."""
    found = set()
    if isinstance(value, dict):
        ref = referenced(value)
        if ref:
            found.add(ref)
        for inner in value.values():
            found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


# Prod-likeness (an env with termination_protection: true). The lint engine passes it
# to the rules that declare this option (cfn-lint's configure_rules); a template, such
# as a fixture, may say so itself in its Metadata: {stackgen: {prod_like: true}}.
PROD_LIKE = "prod_like"


def prod_like_config() -> dict[str, Any]:
    return {PROD_LIKE: {"default": False, "type": "boolean"}}


def is_prod_like(config: dict[str, Any], template: dict[str, Any]) -> bool:
    meta = template.get("Metadata")
    stackgen = meta.get("stackgen") if isinstance(meta, dict) else None
    marked = isinstance(stackgen, dict) and is_true(stackgen.get(PROD_LIKE))
    return bool(config.get(PROD_LIKE)) or marked


class ProdLikeOnly:
    """The preamble of a rule that judges prod-like envs only: it declares the
    prod_like option and passes every other template. Mix it in before
    CloudFormationLintRule and write ``match_prod_like``.

    A mixin, not a CloudFormationLintRule subclass: cfn-lint makes a rule of every
    subclass it finds in a rule module's namespace, imported ones included."""

    config: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = prod_like_config()
        self.configure()  # type: ignore[attr-defined]

    def match(self, cfn: Any) -> list[Any]:
        if not is_prod_like(self.config, cfn.template):
            return []
        return self.match_prod_like(cfn)

    def match_prod_like(self, cfn: Any) -> list[Any]:
        raise NotImplementedError
