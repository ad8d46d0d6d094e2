"""The dns stack's params: the app's domain, its hosted zone and the record."""


from typing import Annotated, Literal

from msgspec import Meta

from generator.config.base import Strict, doc


class HostedZone(Strict):
    """The Route 53 zone the domain lives in: looked up by name, given by id, or created."""

    name: Annotated[str, doc("zone name, e.g. example.com")]
    create: Annotated[bool, doc("create the zone (else look it up by name)")] = False
    id: Annotated[str | None, doc("existing zone id; skips the lookup by name")] = None
    retain_on_delete: Annotated[bool, doc("keep a created zone when the stack goes")] = True
    parent_zone_id: Annotated[
        Annotated[str, Meta(pattern=r"^[A-Z0-9]{1,32}$")] | None,
        doc("a created zone: the parent zone (in this account) the dns stack adds its NS records to"),
    ] = None
    delegated: Annotated[
        bool,
        doc("a created zone: you added its NS records at the parent yourself (outside this account)"),
    ] = False


class Dns(Strict):
    """The app's domain, its zone, and how the record points at the load balancer."""

    domain: Annotated[str, Meta(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$"), doc("the app's domain name")]
    zone: HostedZone
    record_type: Annotated[Literal["alias", "cname"], doc("A-alias or CNAME")] = "alias"
    cname_ttl: Annotated[int, Meta(ge=0), doc("TTL when record_type is cname")] = 300
