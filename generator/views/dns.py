"""The dns stack: the domain's hosted zone, created (and delegated) or passed through."""

from __future__ import annotations

import msgspec

from generator.config import Environment
from generator.views.common import Built, Names, Output, Param
from generator.views.facts import Facts


class DnsView(msgspec.Struct, frozen=True):
    description: str
    create_zone: bool
    zone_name: str
    zone_policy: str  # DeletionPolicy of a created zone
    parent_zone_id: str | None  # a created zone delegated from this parent


def build(cfg: Environment, names: Names, facts: Facts) -> Built[DnsView]:
    zone = cfg.dns.zone
    params: tuple[Param, ...] = ()
    if not facts.create_zone:
        source = None if zone.id else {"Lookup": "HostedZoneIdByName", "Name": zone.name}
        params = (Param("HostedZoneId", "AWS::Route53::HostedZone::Id", f"zone {zone.name}",
                        value=zone.id, source=source),)
    zone_ref = "!Ref HostedZone" if facts.create_zone else "!Ref HostedZoneId"
    outputs = [Output("HostedZoneId", zone_ref, "hosted zone of the domain")]
    if facts.create_zone:
        # What the parent zone must list as NS records for the zone to resolve. Joined:
        # a bare list attribute is not a valid output value.
        outputs.append(Output(
            "NameServers", '!Join [",", !GetAtt HostedZone.NameServers]',
            "name servers the parent zone must delegate to (NS records)"))
    how = (", created and delegated from its parent" if zone.parent_zone_id
           else ", created" if facts.create_zone else ", passed through")
    view = DnsView(
        description=f"DNS: the hosted zone of {zone.name}{how}",
        create_zone=facts.create_zone,
        zone_name=zone.name,
        zone_policy="Retain" if zone.retain_on_delete else "Delete",
        parent_zone_id=zone.parent_zone_id,
    )
    return Built(view, params, tuple(outputs))
