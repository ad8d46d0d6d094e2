from __future__ import annotations

from typing import Any

from generator.forecast.account import Account
from generator.forecast.checks._common import located
from generator.forecast.dns import DnsError, query_ns, system_resolvers
from generator.forecast.model import AccountCheck, Finding, Subject


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def _parents(name: str) -> list[str]:
    labels = _fqdn(name).rstrip(".").split(".")
    return [".".join(labels[i:]) + "." for i in range(1, len(labels))]


class ZoneDelegated(AccountCheck):
    """A DNS-validated certificate stays PENDING_VALIDATION until its validation record
    resolves publicly, which needs the zone delegated: the parent zone's NS records must
    list the zone's name servers. CloudFormation waits for the certificate (ACM gives up
    after 72 hours). Checked through Route 53 when the parent zone is in the account."""

    cert: tuple[str, str] = ("dns", "Certificate")
    zone: tuple[str, str] = ("dns", "HostedZone")

    id = "F301"
    title = "The certificate's zone is delegated"
    source = "https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html"

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        self.cert = located(subject, "AWS::CertificateManager::Certificate", ("dns", "Certificate"))
        self.zone = located(subject, "AWS::Route53::HostedZone", ("dns", "HostedZone"))
        zone_cfg = subject.cfg.dns.zone
        name = _fqdn(zone_cfg.name)
        zones = [z for z in account.pages("route53", "list_hosted_zones", "HostedZones")
                 if not (z.get("Config") or {}).get("PrivateZone")]
        by_name = {str(z["Name"]).lower(): z for z in zones}
        parent = next((p for p in _parents(name) if p in by_name), None)
        if zone_cfg.id:
            zone = next((z for z in zones if str(z["Id"]).rsplit("/", 1)[-1] == zone_cfg.id), None)
        else:
            zone = by_name.get(name)
        if zone is None:
            return [self._missing(name, parent, zone_cfg.create, zone_cfg.id)]
        servers = account.call("route53", "get_hosted_zone", Id=zone["Id"]).get(
            "DelegationSet", {}).get("NameServers", [])
        if parent is None:
            if subject.options.get("public_dns"):
                return self._public(subject, name, servers)
            return [self.finding(
                "info", *self.cert,
                f"the parent of zone {name} is not in this account, so its delegation to "
                f"{', '.join(servers) or 'the zone name servers'} is not checked",
                "check the registrar or parent zone lists these name servers, or run "
                "with --public-dns")]
        return self._compare(account, name, servers, parent, by_name[parent])

    def _public(self, subject: Subject, name: str, servers: list[str]) -> list[Finding]:
        """Ask public DNS (the system's resolvers, or the ones the options name)."""
        resolvers = subject.options.get("dns_servers") or system_resolvers()
        errors = []
        for resolver in resolvers:
            try:
                seen = query_ns(name, resolver)
            except DnsError as exc:
                errors.append(str(exc))
                continue
            want = {_fqdn(s) for s in servers}
            if {_fqdn(s) for s in seen} == want:
                return []
            said = f"answers {', '.join(sorted(seen))}" if seen else "knows no NS records for it"
            return [self.finding(
                "error", *self.cert,
                f"zone {name} is not delegated: public DNS {said}, but the zone's name servers "
                f"are {', '.join(sorted(want))}; the certificate's validation record never "
                "resolves and CloudFormation waits on it",
                f"set the NS records of {name} at its parent (or registrar) to "
                f"{', '.join(sorted(want))}")]
        return [self.finding(
            "warning", *self.cert,
            f"public DNS could not be asked about {name} "
            f"({'; '.join(errors) or 'no resolver configured'}); delegation not checked",
            "run where a resolver answers, or check the parent zone by hand")]

    def _compare(self, account: Account, name: str, servers: list[str], parent: str,
                 parent_zone: dict[str, Any]) -> list[Finding]:
        records = account.call("route53", "list_resource_record_sets",
                               HostedZoneId=parent_zone["Id"], StartRecordName=name,
                               StartRecordType="NS", MaxItems="1")["ResourceRecordSets"]
        listed = next((r for r in records if _fqdn(r["Name"]) == name and r["Type"] == "NS"),
                      None)
        want = {_fqdn(s) for s in servers}
        have = {_fqdn(r["Value"]) for r in (listed or {}).get("ResourceRecords", [])}
        if want and have == want:
            return []
        said = (f"lists {', '.join(sorted(have))}" if have else f"has no NS record for {name}")
        return [self.finding(
            "error", *self.cert,
            f"zone {name} is not delegated: its parent {parent} (in this account) {said}, but "
            f"the zone's name servers are {', '.join(sorted(want))}; the certificate's "
            "validation record never resolves and CloudFormation waits on it",
            f"set the NS record {name} in zone {parent} to {', '.join(sorted(want))}")]

    def _missing(self, name: str, parent: str | None, create: bool, zone_id: str | None) -> Finding:
        if create:
            where = (f"zone {parent}, in this account," if parent
                     else "the parent zone (not in this account)")
            return self.finding(
                "warning", *self.zone,
                f"the {self.zone[0]} stack creates zone {name}; its name servers exist only "
                f"then, and the certificate stays PENDING_VALIDATION until {where} lists them "
                "as NS records",
                f"while the {self.zone[0]} stack waits, add the new zone's NS records to "
                f"{parent or 'the parent'}; or create and delegate the zone first and set "
                "dns.zone.id")
        what = f"zone id {zone_id}" if zone_id else f"hosted zone {name}"
        return self.finding(
            "error", *self.cert,
            f"{what} is not a public zone of this account; the {self.cert[0]} stack cannot "
            "validate its certificate there",
            "create the zone (or set dns.zone.create: true), or fix dns.zone.name/id")
