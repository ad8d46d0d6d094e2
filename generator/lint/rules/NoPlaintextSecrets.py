from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfndoc import resources
from generator.secrets import scan, secret_name, where


class NoPlaintextSecrets(CloudFormationLintRule):
    """Secrets never sit in a template in plain text.

    The same test as the params check and the plan's masking (generator/secrets.py):
    a secret-looking name (DB_PWD, DATABASE_URL, --db-password), credentials in a URL,
    a secret flag in a command, a long high-entropy string.
    """

    id = "E9101"
    shortdesc = "No plaintext secrets"
    description = (
        "Secret values (by name or by value: credentials in URLs, secret flags in commands, "
        "high-entropy strings), secret-looking parameters without NoEcho, and secrets in a "
        "container's environment are refused; use Secrets Manager or SSM references"
    )
    source_url = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/specifying-sensitive-data.html"
    tags = ["stackgen", "security"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, decl in (cfn.template.get("Parameters") or {}).items():
            if not secret_name(name) or not isinstance(decl, dict):
                continue
            if str(decl.get("NoEcho")).lower() != "true":
                matches.append(RuleMatch(["Parameters", name],
                                         f"Parameter {name} looks secret but has no NoEcho"))
            if "Default" in decl:
                matches.append(RuleMatch(["Parameters", name, "Default"],
                                         f"Parameter {name} has a literal default secret"))
        for name, res in resources(cfn.template):
            for hit in scan(res.get("Properties") or {}, ("Properties",)):
                container = "Environment" in hit.path or "Command" in hit.path
                fix = ("move it to the container's Secrets" if container
                       else "use a {{resolve:secretsmanager:…}} reference")
                matches.append(RuleMatch(
                    ["Resources", name, *hit.path],
                    f"{name}.{where(hit.path[1:])} holds a secret ({hit.reason}); {fix}",
                ))
        for name, output in (cfn.template.get("Outputs") or {}).items():
            for hit in scan(output if isinstance(output, dict) else {}, ()):
                matches.append(RuleMatch(["Outputs", name, *hit.path],
                                         f"Output {name} holds a secret ({hit.reason})"))
        return matches
