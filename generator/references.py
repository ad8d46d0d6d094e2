"""A parameter's deploy-time reference, typed once (``FromOutput``, ``Lookup``): turn a
parameters file into the values a change set gets.

A parameters file holds, per parameter, a static value or a reference:
``{"From": "stack.Output"}`` reads an upstream stack's output (``FromOutput``);
``{"Lookup": kind, "Name": ...}`` asks the account, once per run, before any change
is made (``Lookup``). They are parsed once into these types (``parse_value``);
nothing else reads the dicts' keys.

Lookups are a registry of functions by kind, the shape of Sceptre's resolvers: a new
lookup is one function decorated with ``@lookup("Kind")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from generator.errors import StackgenError


class LookupFailed(StackgenError):
    pass


class FromOutput(msgspec.Struct, frozen=True):
    """An upstream stack's output: ``{"From": "stack.Output"}``."""

    stack: str
    output: str

    def as_json(self) -> dict[str, str]:
        return {"From": f"{self.stack}.{self.output}"}


class Lookup(msgspec.Struct, frozen=True):
    """A value the account answers at deploy time: ``{"Lookup": kind, "Name": name}``."""

    kind: str
    name: str = ""

    def as_json(self) -> dict[str, str]:
        return {"Lookup": self.kind, **({"Name": self.name} if self.name else {})}


# A parameter's value as the deploy reads it: a reference, or the static value as
# CloudFormation wants it (a string).
ParamValue = FromOutput | Lookup | str


def cfn_value(value: Any) -> str:
    """A parameter value as CloudFormation wants it: always a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_value(value: Any) -> ParamValue:
    """A parameters-file value, typed: the one place that knows the file's keys."""
    if isinstance(value, dict) and "From" in value:
        stack, output = str(value["From"]).split(".", 1)
        return FromOutput(stack, output)
    if isinstance(value, dict) and "Lookup" in value:
        return Lookup(str(value["Lookup"]), str(value.get("Name", "")))
    return cfn_value(value)


def is_reference(value: Any) -> bool:
    """Whether a parameters-file value is known only at deploy time."""
    return isinstance(parse_value(value), FromOutput | Lookup)


def parse_parameters(parameters: Mapping[str, Any]) -> dict[str, ParamValue]:
    return {key: parse_value(value) for key, value in parameters.items()}


# --- the lookups -------------------------------------------------------------------------

LookupFn = Callable[["Lookups", Lookup], str]
LOOKUPS: dict[str, LookupFn] = {}


def lookup(kind: str) -> Callable[[LookupFn], LookupFn]:
    """Register the function that answers lookups of ``kind``."""
    def register(fn: LookupFn) -> LookupFn:
        LOOKUPS[kind] = fn
        return fn
    return register


def _unknown(ref: Lookup) -> LookupFailed:
    return LookupFailed(f"unknown lookup {ref.kind!r} in a parameters file")


@lookup("HostedZoneIdByName")
def hosted_zone_id_by_name(account: Lookups, ref: Lookup) -> str:
    name = ref.name.rstrip(".") + "."
    zones = account.route53.list_hosted_zones_by_name(DNSName=name)["HostedZones"]
    matches = [z for z in zones if z["Name"] == name]
    # A public zone is the one a certificate validates through.
    matches.sort(key=lambda z: bool(z.get("Config", {}).get("PrivateZone")))
    if not matches:
        raise LookupFailed(
            f"hosted zone {name} not found in this account; create it, or set "
            "dns.zone.create: true or dns.zone.id in the params"
        )
    return str(matches[0]["Id"]).rsplit("/", 1)[-1]


@lookup("ArtifactBucket")
def artifact_bucket(account: Lookups, ref: Lookup) -> str:
    """The bucket the nested form's child templates were uploaded to (this run's)."""
    if not account.artifact_bucket:
        raise _unknown(ref)  # only a run that uploads has one
    return account.artifact_bucket


class Lookups:
    """Deploy-time lookups, each answered once and remembered."""

    def __init__(self, route53: Any, artifact_bucket: str | None = None,
                 clients: Callable[[str], Any] | None = None) -> None:
        self._route53 = route53
        self._clients = clients  # made on first use: most runs look nothing up
        self.artifact_bucket = artifact_bucket
        self._cache: dict[Lookup, str] = {}

    @property
    def route53(self) -> Any:
        if self._route53 is None and self._clients is not None:
            self._route53 = self._clients("route53")
        return self._route53

    def answer(self, ref: Lookup) -> str:
        if ref not in self._cache:
            fn = LOOKUPS.get(ref.kind)
            if fn is None:
                raise _unknown(ref)
            self._cache[ref] = fn(self, ref)
        return self._cache[ref]


def resolve(parameters: Mapping[str, ParamValue], outputs: Mapping[str, Mapping[str, str]],
            lookups: Lookups) -> dict[str, str]:
    resolved = {}
    for key, value in parameters.items():
        if isinstance(value, FromOutput):
            try:
                resolved[key] = outputs[value.stack][value.output]
            except KeyError:
                raise LookupFailed(
                    f"parameter {key} reads {value.stack}.{value.output}, which the deployed "
                    f"{value.stack} stack does not output; deploy it first"
                ) from None
        elif isinstance(value, Lookup):
            resolved[key] = lookups.answer(value)
        else:
            resolved[key] = value
    return resolved
