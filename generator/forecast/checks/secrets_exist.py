from __future__ import annotations

from generator.config import SecretRef
from generator.forecast.account import Account, ApiError, not_found
from generator.forecast.model import AccountCheck, Finding, Subject


def secret_id(arn: str) -> str:
    """A Secrets Manager ARN without the ``:json-key:stage:version`` suffix ECS accepts."""
    return ":".join(arn.split(":")[:7])


class SecretsExist(AccountCheck):
    """Secrets and SSM parameters the params name exist; otherwise every task fails to start
    (ResourceInitializationError: unable to pull secrets)."""

    id = "F406"
    title = "Secrets and parameters the params name exist"
    source = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/specifying-sensitive-data.html"

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        ecs = subject.cfg.ecs
        refs: list[tuple[str, str, SecretRef]] = [
            (f"ecs.container.secrets.{k}", "TaskDefinition", v) for k, v in ecs.container.secrets.items()]
        refs += [(f"ecs.tasks.{t}.secrets.{k}",
                  "".join(p.capitalize() for p in t.split("-")) + "TaskDefinition", v)
                 for t, task in ecs.tasks.items() for k, v in task.secrets.items()]
        refs += [(f"ecs.{kind}.{t}.secrets.{k}",
                  "".join(p.capitalize() for p in t.split("-")) + "TaskDefinition", v)
                 for kind, workloads in (("services", ecs.services), ("jobs", ecs.jobs))
                 for t, w in workloads.items() for k, v in w.secrets.items()]
        found = []
        for key, logical, ref in refs:
            if ref.secretsmanager_arn:
                missing = self._missing(account, "secretsmanager", "describe_secret",
                                        SecretId=secret_id(ref.secretsmanager_arn))
                arn = ref.secretsmanager_arn
            elif ref.ssm_parameter_arn:
                missing = self._missing(account, "ssm", "get_parameter", Name=ref.ssm_parameter_arn)
                arn = ref.ssm_parameter_arn
            else:
                continue
            if missing:
                found.append(self.finding(
                    "error", "ecs", logical,
                    f"{key} names {arn}, which does not exist; tasks fail to start "
                    "(ResourceInitializationError)",
                    f"create it, or fix {key}"))
        return found

    def _missing(self, account: Account, service: str, operation: str, **kwargs: str) -> bool:
        try:
            account.call(service, operation, **kwargs)
        except ApiError as exc:
            if not_found(exc):
                return True
            raise
        return False
