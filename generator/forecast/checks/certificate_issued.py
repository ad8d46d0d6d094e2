from __future__ import annotations

from generator.forecast.account import Account
from generator.forecast.checks._common import deployed_stack, located
from generator.forecast.model import AccountCheck, Finding, Subject


def covers(domain: str, names: list[str]) -> bool:
    """ACM's matching: an exact name, or a wildcard for exactly one leftmost label."""
    domain = domain.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == domain:
            return True
        if name.startswith("*.") and domain.count(".") == name.count(".") and \
                domain.split(".", 1)[1] == name[2:]:
            return True
    return False


class CertificateIssued(AccountCheck):
    """The certificate the env already made is ISSUED and covers the domain; the HTTPS
    listener cannot serve a certificate that is pending, failed or for another name."""

    id = "F302"
    title = "The existing certificate is issued for the domain"
    source = "https://docs.aws.amazon.com/acm/latest/APIReference/API_DescribeCertificate.html"

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        where, logical = located(subject, "AWS::CertificateManager::Certificate",
                                 ("", "Certificate"))
        if not where:
            return []
        stack = deployed_stack(account, subject.stack_name(where))
        outputs = {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}
        arn = outputs.get("CertificateArn")
        if not arn:
            return []  # not made yet: its stack creates it (F301 covers its validation)
        cert = account.call("acm", "describe_certificate", CertificateArn=arn)["Certificate"]
        domain = subject.cfg.dns.domain
        # The domain name is listed among the alternative names too: show each once.
        names = list(dict.fromkeys([cert.get("DomainName", ""),
                                    *cert.get("SubjectAlternativeNames", [])]))
        found = []
        status = cert.get("Status", "UNKNOWN")
        if status != "ISSUED":
            why = {"PENDING_VALIDATION": "its DNS validation record does not resolve yet "
                                         "(is the zone delegated? see F301)"}.get(
                status, cert.get("FailureReason") or "ACM will not issue it")
            found.append(self.finding(
                "error", where, logical,
                f"certificate {arn} is {status}: {why}; the HTTPS listener cannot use it",
                f"fix the validation (delegate the zone), or delete the {where} stack to "
                "request a new certificate"))
        if not covers(domain, [n for n in names if n]):
            found.append(self.finding(
                "error", where, logical,
                f"certificate {arn} is for {', '.join(n for n in names if n)}, not {domain}",
                f"deploy the {where} stack again so it requests one for dns.domain"))
        return found
