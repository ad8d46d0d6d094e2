from __future__ import annotations

from generator.forecast.account import Account, ApiError
from generator.forecast.checks._common import deployed_stack
from generator.forecast.model import AccountCheck, Finding, Subject

# Codes of an endpoint that does not implement the call (not of a refused one).
UNANSWERED = frozenset({"InvalidAction", "NotImplemented", "500", "InternalFailure",
                        "Unreadable"})
PREFIX = "stackgen-"  # the change sets the deploy engine makes (generator/aws/cfn.py)


class ChangeSetValidation(AccountCheck):
    """CloudFormation validates a change set early (resource names taken, properties the
    service refuses) and reports it as VALIDATION_ERROR events of DescribeEvents; the
    forecast folds in those of the env's change sets that are still there (from `plan`)."""

    id = "F601"
    title = "CloudFormation's early validation of change sets"
    source = "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeEvents.html"

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        found: list[Finding] = []
        for stack in subject.graph.order:
            name = subject.stack_name(stack)
            if deployed_stack(account, name) is None:
                continue
            summaries = account.pages("cloudformation", "list_change_sets", "Summaries",
                                      StackName=name)
            for summary in summaries:
                if not str(summary.get("ChangeSetName", "")).startswith(PREFIX):
                    continue
                try:
                    events = account.pages("cloudformation", "describe_events", "OperationEvents",
                                           ChangeSetName=summary["ChangeSetId"])
                except ApiError as exc:
                    if exc.code in UNANSWERED:
                        # An endpoint without DescribeEvents (moto: an HTML 500): said, as
                        # info, so it never blocks a deploy; asked once per run.
                        return [*found, self.finding(
                            "info", stack, "-",
                            f"the endpoint does not answer DescribeEvents ({exc.code}); "
                            "CloudFormation's early validation is not checked",
                            "check on AWS")]
                    raise
                for event in events:
                    if event.get("EventType") != "VALIDATION_ERROR" and \
                            event.get("ValidationStatus") != "FAILED":
                        continue
                    warn = event.get("ValidationFailureMode") == "WARN"
                    found.append(self.finding(
                        "warning" if warn else "error", stack,
                        str(event.get("LogicalResourceId") or name),
                        f"change set {summary['ChangeSetName']}: "
                        f"{event.get('ValidationName', 'validation')} failed: "
                        f"{event.get('ValidationStatusReason') or event.get('ResourceStatusReason', '')}",
                        "fix what the validation names, then plan again"))
        return found
