"""What only the policy rules share: the prod-like option and its preamble. Reading
the templates themselves (resources, references, IAM statements, ingress rules) is
``generator/cfndoc.py``, shared with the review."""

from __future__ import annotations

from typing import Any

from generator.cfndoc import is_true

# Prod-likeness (an env with termination_protection: true). The lint engine passes it
# to the rules that declare this option (cfn-lint's configure_rules); a template, such
# as a fixture, may say so itself in its Metadata: {stackgen: {prod_like: true}}.
PROD_LIKE = "prod_like"


def prod_like_config() -> dict[str, Any]:
    return {PROD_LIKE: {"default": False, "type": "boolean"}}


def is_prod_like(config: dict[str, Any], template: dict[str, Any]) -> bool:
    meta = template.get("Metadata")
    stackgen = meta.get("stackgen") if isinstance(meta, dict) else None
    marked = isinstance(stackgen, dict) and is_true(stackgen.get(PROD_LIKE))
    return bool(config.get(PROD_LIKE)) or marked


class ProdLikeOnly:
    """The preamble of a rule that judges prod-like envs only: it declares the
    prod_like option and passes every other template. Mix it in before
    CloudFormationLintRule and write ``match_prod_like``.

    A mixin, not a CloudFormationLintRule subclass: cfn-lint makes a rule of every
    subclass it finds in a rule module's namespace, imported ones included."""

    config: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = prod_like_config()
        self.configure()  # type: ignore[attr-defined]

    def match(self, cfn: Any) -> list[Any]:
        if not is_prod_like(self.config, cfn.template):
            return []
        return self.match_prod_like(cfn)

    def match_prod_like(self, cfn: Any) -> list[Any]:
        raise NotImplementedError
