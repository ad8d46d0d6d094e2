"""Certificates validate only through a delegated zone; hosted zones give NameServers.

ACM user guide, "DNS validation": ACM issues a DNS-validated certificate once the
validation CNAME resolves publicly, which needs the zone that holds it to be delegated
from its parent (the parent lists the zone's name servers as NS records); until then the
certificate stays PENDING_VALIDATION and CloudFormation waits up to 72 hours. The endpoint
knows only its own zones: one created outside the stack set (such as the seeded parent,
generator/local/seed.py) counts as registered and delegated; one a stack creates counts as
delegated when a zone of the endpoint that is its parent holds matching NS records.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.exceptions import ServiceException
from moto.route53.models import FakeZone, route53_backends


class ValidationPending(ServiceException):
    code = "ValidationPending"


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def _zone_for(zones: list[Any], domain: str) -> Any | None:
    """The public zone holding ``domain``: the longest zone name it ends with."""
    name = _fqdn(domain.removeprefix("*."))
    owning = [z for z in zones if not z.private_zone
              and (name == _fqdn(z.name) or name.endswith("." + _fqdn(z.name)))]
    return max(owning, key=lambda z: len(z.name), default=None)


def _name_servers(zone: Any) -> set[str]:
    return {_fqdn(ns) for ns in zone.delegation_set.name_servers} if zone.delegation_set else set()


def undelegated(account_id: str, region_name: str, domain: str,
                zone_id: str | None = None) -> str | None:
    """Why ``domain``'s validation record cannot resolve, or None when it can."""
    backend = route53_backends[account_id]["aws"]
    zones = list(backend.zones.values())
    zone = (backend.zones.get(zone_id.split("/")[-1]) if zone_id else None) or _zone_for(zones, domain)
    if zone is None:
        return (f"no hosted zone of this account holds {domain}, so its DNS validation record "
                "cannot be created; create the zone or validate another way")
    if not getattr(zone, "created_by_stack", False):
        return None  # registered outside the stack set (as the seeded parent is)
    parent = _zone_for([z for z in zones if z is not zone],
                       zone.name.rstrip(".").split(".", 1)[-1] if "." in zone.name.rstrip(".")
                       else zone.name)
    expected = _name_servers(zone)
    if parent is not None:
        listed = {_fqdn(r if isinstance(r, str) else r.get("Value", "")) for rr in parent.rrsets
                  if rr.type == "NS" and _fqdn(rr.name) == _fqdn(zone.name) for r in rr.records}
        if expected and expected <= listed:
            return None
    where = (f"its parent zone {parent.name.rstrip('.')} has no NS records for it"
             if parent is not None else "no parent zone of this account delegates it")
    return (f"hosted zone {zone.name.rstrip('.')} is not delegated ({where}; expected "
            f"{', '.join(sorted(ns.rstrip('.') for ns in expected))}), so ACM cannot validate "
            f"{domain} and the certificate stays PENDING_VALIDATION (AWS waits 72 hours before "
            "failing); add those NS records at the parent zone or registrar first")


def _zones_know_their_origin_and_name_servers() -> None:
    original = FakeZone.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        zone = original(cls, resource_name, cloudformation_json, account_id, region_name,
                        **kwargs)
        zone.created_by_stack = True
        return zone

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "NameServers":
            return list(self.delegation_set.name_servers) if self.delegation_set else []
        if attribute_name == "Id":
            return self.resource_id
        raise UnformattedGetAttTemplateException()

    FakeZone.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment,arg-type]
    FakeZone.get_cfn_attribute = get_cfn_attribute  # type: ignore[attr-defined]
    FakeZone.has_cfn_attr = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls, attr: attr in ("NameServers", "Id"))


def apply() -> None:
    _zones_know_their_origin_and_name_servers()
