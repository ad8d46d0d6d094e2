"""The cert stack: the app's DNS-validated ACM certificate."""

from __future__ import annotations

import msgspec

from generator.config import Environment
from generator.views.common import Built, Names, Output, Param
from generator.views.facts import Facts


class CertView(msgspec.Struct, frozen=True):
    description: str


def build(cfg: Environment, names: Names, facts: Facts) -> Built[CertView]:
    domain = cfg.dns.domain
    return Built(
        CertView(description=f"Certificate: DNS-validated ACM certificate for {domain}"),
        (Param("DomainName", description="the app's domain", value=domain),),
        (Output("CertificateArn", "!Ref Certificate", "ACM certificate for the domain"),
         Output("DomainName", "!Ref DomainName", "the app's domain")),
    )
