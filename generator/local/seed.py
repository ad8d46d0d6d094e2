"""Give the local account what a real account has before the stack set exists.

moto starts with a default VPC; an env that looks up an existing hosted zone
finds it here. Uses only the public API, as any account setup would.
"""

from __future__ import annotations

import uuid
from typing import Any

from generator.config import Environment


def seed(session: Any, endpoint_url: str, cfg: Environment) -> list[str]:
    """Create what ``cfg`` expects to exist already; returns what was created."""
    created = []
    zone = cfg.dns.zone
    if not zone.create and not zone.id:
        route53 = session.client("route53")  # the session is pinned to endpoint_url
        name = zone.name.rstrip(".") + "."
        found = route53.list_hosted_zones_by_name(DNSName=name, MaxItems="1")["HostedZones"]
        if not any(z["Name"] == name for z in found):
            route53.create_hosted_zone(Name=name, CallerReference=str(uuid.uuid4()))
            created.append(f"hosted zone {name}")
    return created
