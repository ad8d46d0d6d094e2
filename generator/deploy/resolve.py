"""Turn a parameters file into the values a change set gets.

``{"From": "stack.Output"}`` reads an upstream stack's output; ``{"Lookup": ...}``
asks the account (once per run, before any change is made).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.errors import StackgenError


class LookupFailed(StackgenError):
    pass


def cfn_value(value: Any) -> str:
    """A parameter value as CloudFormation wants it: always a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


class Lookups:
    """Deploy-time lookups, each answered once and remembered."""

    def __init__(self, route53: Any, artifact_bucket: str | None = None) -> None:
        self.route53 = route53
        self.artifact_bucket = artifact_bucket
        self._cache: dict[tuple[str, str], str] = {}

    def answer(self, spec: Mapping[str, str]) -> str:
        key = (spec["Lookup"], spec.get("Name", ""))
        if key not in self._cache:
            self._cache[key] = self._ask(spec)
        return self._cache[key]

    def _ask(self, spec: Mapping[str, str]) -> str:
        kind = spec["Lookup"]
        if kind == "HostedZoneIdByName":
            name = spec["Name"].rstrip(".") + "."
            zones = self.route53.list_hosted_zones_by_name(DNSName=name)["HostedZones"]
            matches = [z for z in zones if z["Name"] == name]
            # A public zone is the one a certificate validates through.
            matches.sort(key=lambda z: bool(z.get("Config", {}).get("PrivateZone")))
            if not matches:
                raise LookupFailed(
                    f"hosted zone {name} not found in this account; create it, or set "
                    "dns.zone.create: true or dns.zone.id in the params"
                )
            return str(matches[0]["Id"]).rsplit("/", 1)[-1]
        if kind == "ArtifactBucket" and self.artifact_bucket:
            return self.artifact_bucket
        raise LookupFailed(f"unknown lookup {kind!r} in a parameters file")


def resolve(parameters: Mapping[str, Any], outputs: Mapping[str, Mapping[str, str]],
            lookups: Lookups) -> dict[str, str]:
    resolved = {}
    for key, value in parameters.items():
        if isinstance(value, dict) and "From" in value:
            stack, output = value["From"].split(".", 1)
            try:
                resolved[key] = outputs[stack][output]
            except KeyError:
                raise LookupFailed(
                    f"parameter {key} reads {value['From']}, which the deployed {stack} "
                    "stack does not output; deploy it first"
                ) from None
        elif isinstance(value, dict) and "Lookup" in value:
            resolved[key] = lookups.answer(value)
        else:
            resolved[key] = cfn_value(value)
    return resolved
