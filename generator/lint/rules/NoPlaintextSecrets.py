from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.lint.rules._common import SECRET_NAME, as_list, is_literal, props, resources


class NoPlaintextSecrets(CloudFormationLintRule):
    """Secrets never sit in a template in plain text."""

    id = "E9101"
    shortdesc = "No plaintext secrets"
    description = (
        "Literal passwords, secret-looking parameters without NoEcho, and secrets in a "
        "container's environment are refused; use Secrets Manager or SSM references"
    )
    source_url = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/cfn-example_reference-secret.html"
    tags = ["stackgen", "security"]

    def match(self, cfn):  # type: ignore[no-untyped-def]
        matches = []
        for name, decl in (cfn.template.get("Parameters") or {}).items():
            if SECRET_NAME.search(name) and not name.endswith("Arn") and not decl.get("NoEcho"):
                matches.append(RuleMatch(["Parameters", name],
                                         f"Parameter {name} looks secret but has no NoEcho"))
        for name, res in resources(cfn.template):
            for key, value in props(res).items():
                literal = isinstance(value, str) and not value.startswith("{{resolve:")
                if key.endswith("Password") and literal:
                    matches.append(RuleMatch(["Resources", name, "Properties", key],
                                             f"{name}.{key} is a literal password"))
            if res.get("Type") != "AWS::ECS::TaskDefinition":
                continue
            for i, container in enumerate(as_list(props(res).get("ContainerDefinitions", []))):
                if not isinstance(container, dict):
                    continue
                for j, var in enumerate(container.get("Environment") or []):
                    var_name = var.get("Name", "") if isinstance(var, dict) else ""
                    if is_literal(var_name) and SECRET_NAME.search(str(var_name)):
                        path = ["Resources", name, "Properties", "ContainerDefinitions", i,
                                "Environment", j]
                        matches.append(RuleMatch(
                            path, f"{var_name} is a secret in the environment; move it to Secrets"
                        ))
        return matches
