from __future__ import annotations

from typing import Any

from generator.cfndoc import props
from generator.forecast.account import Account
from generator.forecast.model import Check, Finding, Subject, depends_on


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return value if isinstance(value, str) else None


class CapacityProviderAssociation(Check):
    """A service whose CapacityProviderStrategy names a provider must be created after the
    ClusterCapacityProviderAssociations that adds it to the cluster (and deleted before
    it), or creation and deletion race (aws/containers-roadmap#631; the CloudFormation
    user guide's AWS::ECS::ClusterCapacityProviderAssociations examples)."""

    id = "F202"
    title = "The service waits for its capacity provider association"
    source = "https://github.com/aws/containers-roadmap/issues/631"

    def run(self, subject: Subject, account: Account | None) -> list[Finding]:
        associations: dict[str, list[tuple[str, str]]] = {}
        for stack, logical, res in subject.resources(
                "AWS::ECS::ClusterCapacityProviderAssociations"):
            for provider in props(res).get("CapacityProviders") or []:
                key = _ref(provider)
                if key:
                    associations.setdefault(key, []).append((stack, logical))
        found = []
        for stack, logical, res in subject.resources("AWS::ECS::Service"):
            for item in props(res).get("CapacityProviderStrategy") or []:
                provider = _ref(item.get("CapacityProvider")) if isinstance(item, dict) else None
                if provider in (None, "FARGATE", "FARGATE_SPOT"):
                    continue
                where = associations.get(str(provider), [])
                upstream = subject.upstream_closure(stack)
                if any(s in upstream for s, _ in where):
                    continue
                local = [lid for s, lid in where if s == stack]
                if local and set(local) & depends_on(res):
                    continue
                if local:
                    found.append(self.finding(
                        "error", stack, logical,
                        f"{logical} uses capacity provider {provider} but does not DependsOn "
                        f"{local[0]}, which adds it to the cluster: the service may be created "
                        "before the association (\"capacity provider not associated\") and "
                        "deleted after it",
                        f"add DependsOn: {local[0]} to {logical}"))
                else:
                    found.append(self.finding(
                        "error", stack, logical,
                        f"{logical} uses capacity provider {provider}, which no "
                        "ClusterCapacityProviderAssociations in this stack or upstream adds "
                        "to the cluster",
                        "associate the provider with the cluster before the service"))
        return found
