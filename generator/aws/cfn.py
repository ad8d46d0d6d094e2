"""A typed face on the CloudFormation API: the one place that reads error codes.

Everything above this module deals in ``StackInfo``, ``ChangeSet`` (None when it
would hold no change), typed statuses (generator/aws/status.py) and typed errors
(StackNotFound, ChangeSetFailed, StackOperationFailed), never in ClientError strings.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from generator.aws.cfn_types import Change, ChangeSet, ChangeSetContent, Event, StackInfo
from generator.aws.polling import (
    POLLING_CALLS,
    THROTTLE_RETRIES,
    THROTTLED,
    WaitAbandoned,
    Waits,
    WaitTimedOut,
    backoff,
)
from generator.aws.rootcause import OperationEvent, root_causes
from generator.aws.status import ChangeSetStatus, ExecutionStatus, StackStatus
from generator.aws.validation import (
    ValidationFailed,
    ValidationFinding,
    findings_of,
    hook_findings,
)
from generator.errors import (
    AwsError,
    ChangeSetFailed,
    StackNotFound,
    StackOperationFailed,
)

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
CHANGE_SET_PREFIX = "stackgen-"
MAX_TEMPLATE_BODY = 51_200
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")

EXPRESS = {"Mode": "EXPRESS", "DisableRollback": False}

class UnreadableAnswer(AwsError):
    """The endpoint answered something that is not an AWS response (an HTML error page
    from the endpoint or a proxy in front of it)."""

    def __init__(self, operation: str, endpoint: str, raw: str) -> None:
        super().__init__(f"{operation}: {endpoint} answered {answered(raw)}, not an AWS "
                         "response; that endpoint (or a proxy in front of it) is failing")
        self.operation = operation
        self.endpoint = endpoint


def answered(raw: str) -> str:
    """What a garbled answer was, in a few words: an HTML page's title, else its start."""
    body = raw.split("may succeed:", 1)[-1]
    title = re.search(r"<title>\s*(.*?)\s*</title>", body, re.I | re.S) or \
        re.search(r"<h1>\s*(.*?)\s*</h1>", body, re.I | re.S)
    if title:
        return f"an HTML page ('{' '.join(title.group(1).split())[:80]}')"
    text = " ".join(body.replace("\\n", " ").split()).strip("b'\"")
    return f"'{text[:80]}'" if text else "an empty body"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def _is_missing(exc: ClientError) -> bool:
    return _code(exc) == "ValidationError" and "does not exist" in _message(exc)


class CloudFormation:
    """Calls the CloudFormation API and counts the calls (for the bench)."""

    def __init__(self, client: Any, sleep: Callable[[float], None] | None = None,
                 waits: Waits | None = None) -> None:
        self.client = client
        self.waits = waits or Waits(sleep=sleep or time.sleep)
        self.abandon = threading.Event()  # set: every wait stops (Ctrl-C twice)
        self.calls = 0

    @property
    def endpoint(self) -> str:
        return str(getattr(getattr(self.client, "meta", None), "endpoint_url", "the endpoint"))

    def _call(self, name: str, **kwargs: Any) -> Any:
        if name not in POLLING_CALLS:
            return self._send(name, **kwargs)
        budget = self.waits.budget
        for attempt in range(THROTTLE_RETRIES + 1):
            budget.take(self.waits.clock, self.waits.sleep, self.waits.time_scale)
            try:
                answer = self._send(name, **kwargs)
            except ClientError as exc:
                if _code(exc) not in THROTTLED or attempt == THROTTLE_RETRIES:
                    raise
                budget.throttled()
                continue
            budget.answered()
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, name: str, **kwargs: Any) -> Any:
        self.calls += 1
        try:
            return getattr(self.client, name)(**kwargs)
        except ResponseParserError as exc:  # an HTML 500 page, a proxy's answer, …
            raise UnreadableAnswer(name, self.endpoint, str(exc)) from None
        except BotoCoreError as exc:  # refused, timed out, …
            raise AwsError(f"{name}: {' '.join(str(exc).split())}") from None

    def _pages(self, name: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every page of a paginated call (ClientError propagates to the caller)."""
        token: str | None = None
        while True:
            page = self._call(name, **kwargs, **({"NextToken": token} if token else {}))
            yield page
            token = page.get("NextToken")
            if not token:
                return

    # --- stacks -------------------------------------------------------------

    def describe(self, stack_name: str) -> StackInfo | None:
        try:
            raw = self._call("describe_stacks", StackName=stack_name)["Stacks"][0]
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise AwsError(f"describe_stacks {stack_name}: {_message(exc)}") from None
        return StackInfo.from_api(raw)

    def describe_many(self, names: list[str]) -> dict[str, StackInfo]:
        """Several stacks, one page-walk of the account's stacks when that is cheaper."""
        if len(names) <= 1:
            found = [self.describe(n) for n in names]
            return {s.name: s for s in found if s}
        wanted, out = set(names), {}
        try:
            for page in self._pages("describe_stacks"):
                for raw in page.get("Stacks", []):
                    if raw["StackName"] in wanted and \
                            not StackStatus(raw["StackStatus"]).is_deleted():
                        out[raw["StackName"]] = StackInfo.from_api(raw)
        except ClientError as exc:
            raise AwsError(f"describe_stacks: {_message(exc)}") from None
        return out

    def template_body(self, stack_name: str) -> str:
        try:
            body = self._call("get_template", StackName=stack_name,
                              TemplateStage="Original")["TemplateBody"]
        except ClientError as exc:
            if _is_missing(exc):
                raise StackNotFound(stack_name) from None
            raise AwsError(f"get_template {stack_name}: {_message(exc)}") from None
        # boto3 parses JSON bodies into a dict; ours are YAML text.
        return body if isinstance(body, str) else str(body)

    def physical_ids(self, stack_name: str) -> dict[str, str]:
        """Logical id -> physical id of a stack's resources."""
        try:
            return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                    for page in self._pages("list_stack_resources", StackName=stack_name)
                    for r in page.get("StackResourceSummaries", [])}
        except ClientError as exc:
            if _is_missing(exc):
                return {}
            raise AwsError(f"list_stack_resources {stack_name}: {_message(exc)}") from None

    def failed_physical_ids(self, stack_name: str) -> dict[str, str]:
        """Logical id -> physical id of the resources whose newest *_FAILED event names one:
        a resource that failed and was rolled back is gone from ListStackResources on some
        endpoints, and its failed event still says which resource it was (a service that
        could not place its tasks, whose events say why)."""
        found: dict[str, str] = {}
        try:
            raw = self._call("describe_stack_events", StackName=stack_name)
        except ClientError:
            return found
        for event in (Event.from_api(e) for e in raw.get("StackEvents", [])):  # newest first
            if event.status.failed() and event.physical_id and event.logical_id != stack_name:
                found.setdefault(event.logical_id, event.physical_id)
        return found

    # --- drift ---------------------------------------------------------------

    def detect_drift(self, stack_name: str) -> str:
        """Start drift detection; the detection id to poll."""
        try:
            return str(self._call("detect_stack_drift",
                                  StackName=stack_name)["StackDriftDetectionId"])
        except ClientError as exc:
            if _is_missing(exc):
                raise StackNotFound(stack_name) from None
            raise AwsError(f"detect_stack_drift {stack_name}: {_message(exc)}") from None

    def drift_status(self, detection_id: str) -> dict[str, Any]:
        try:
            return dict(self._call("describe_stack_drift_detection_status",
                                   StackDriftDetectionId=detection_id))
        except ClientError as exc:
            raise AwsError(f"describe_stack_drift_detection_status: {_message(exc)}") from None

    def resource_drifts(self, stack_name: str) -> list[dict[str, Any]]:
        """Every resource of the last detection: MODIFIED, DELETED, IN_SYNC and NOT_CHECKED
        (a type drift detection does not compare), so no stack reads IN_SYNC on the
        strength of resources never compared."""
        try:
            return [r for page in self._pages(
                "describe_stack_resource_drifts", StackName=stack_name)
                for r in page.get("StackResourceDrifts", [])]
        except ClientError as exc:
            raise AwsError(f"describe_stack_resource_drifts {stack_name}: "
                           f"{_message(exc)}") from None

    def delete_stack(self, stack_name: str) -> None:
        try:
            self._call("delete_stack", StackName=stack_name)
        except ClientError as exc:
            raise StackOperationFailed(stack_name, StackStatus.DELETE_FAILED,
                                       [_message(exc)]) from None

    def set_stack_policy(self, stack_name: str, policy: str) -> None:
        self._call("set_stack_policy", StackName=stack_name, StackPolicyBody=policy)

    def set_termination_protection(self, stack_name: str, enabled: bool) -> None:
        self._call("update_termination_protection", StackName=stack_name,
                   EnableTerminationProtection=enabled)

    def _pause(self, name: str, status: str, started: float, deadline: float,
               delay: float) -> None:
        """Sleep before the next poll, unless the deadline passed or we were told to stop."""
        elapsed = self.waits.clock() - started
        if elapsed >= deadline:
            raise WaitTimedOut(name, status, elapsed, deadline)
        if self.abandon.is_set():
            raise WaitAbandoned(name, status)
        self.waits.sleep(min(delay / self.waits.time_scale, max(0.0, deadline - elapsed)))

    def wait_stack(self, stack_name: str,
                   on_poll: Callable[[StackInfo | None, float], None] | None = None,
                   deleting: bool = False, deadline: float | None = None,
                   label: str | None = None) -> StackInfo | None:
        """Poll until the stack leaves *_IN_PROGRESS; None once a delete removed it.
        WaitTimedOut past ``deadline`` seconds (the default deadline when None);
        ``label`` names the stack in messages when it is polled by id."""
        started = self.waits.clock()
        limit = self.waits.default_seconds if deadline is None else deadline
        for delay in backoff():
            info = self.describe(stack_name)
            if on_poll:
                on_poll(info, self.waits.clock() - started)
            if info is None or info.status.is_deleted():
                if deleting:
                    return None
                raise StackNotFound(stack_name)
            if not info.status.in_progress():
                return info
            self._pause(label or stack_name, info.status, started, limit, delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- change sets -----------------------------------------------------------

    def stale_change_sets(self, stack_name: str) -> list[str]:
        """Our change sets left on a stack by an interrupted run."""
        ids = []
        try:
            for page in self._pages("list_change_sets", StackName=stack_name):
                # Filter by stack too: an endpoint that lists every stack's sets must not
                # make us delete another stack's reviewed change set.
                ids += [s["ChangeSetId"] for s in page.get("Summaries", [])
                        if s.get("ChangeSetName", "").startswith(CHANGE_SET_PREFIX)
                        and s.get("StackName") == stack_name]
        except ClientError as exc:
            if _is_missing(exc):
                return []
            raise AwsError(f"list_change_sets {stack_name}: {_message(exc)}") from None
        return ids

    def delete_change_set(self, change_set_id: str) -> None:
        try:
            self._call("delete_change_set", ChangeSetName=change_set_id)
        except ClientError as exc:
            if not _is_missing(exc) and _code(exc) != "ChangeSetNotFound":
                raise AwsError(f"delete_change_set: {_message(exc)}") from None

    def create_change_set(self, stack_name: str, name: str, kind: str, template: str,
                          parameters: dict[str, str], tags: dict[str, str],
                          description: str, include_nested: bool = False,
                          express: bool = False, import_existing: bool = False,
                          revert_drift: bool = False) -> str | None:
        """The change set's id; None when AWS says the stack already is as sent."""
        if len(template.encode()) > MAX_TEMPLATE_BODY:
            raise ChangeSetFailed(stack_name, f"template is over {MAX_TEMPLATE_BODY} bytes; "
                                  "deploy the nested form (--nested), which uploads to S3")
        kwargs: dict[str, Any] = dict(
            StackName=stack_name, ChangeSetName=name, ChangeSetType=kind,
            TemplateBody=template, Capabilities=CAPABILITIES, Description=description[:1024],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        if include_nested:
            kwargs["IncludeNestedStacks"] = True
        if express:
            # Executing the change set then runs in express mode. Rollback stays on (express
            # turns it off unless told), so a failed stack ends as it does in standard mode.
            # CloudFormation user guide, "Deploy CloudFormation stacks faster with express mode".
            kwargs["DeploymentConfig"] = EXPRESS
        if import_existing:
            # Named resources that exist outside any stack are imported, not created
            # (user guide, "Import AWS resources into a CloudFormation stack automatically").
            kwargs["ImportExistingResources"] = True
        if revert_drift:
            # A drift-aware change set: drifted properties are put back to the template's
            # values (user guide, "Using drift-aware change sets").
            kwargs["DeploymentMode"] = "REVERT_DRIFT"
        try:
            return str(self._call("create_change_set", **kwargs)["Id"])
        except ClientError as exc:
            if any(marker in _message(exc) for marker in NO_CHANGES):
                return None
            raise ChangeSetFailed(stack_name, _message(exc)) from None

    def wait_change_set(self, change_set_id: str, stack_name: str,
                        on_poll: Callable[[str, float], None] | None = None) -> ChangeSet | None:
        """Poll until created, then read every page of its changes, with before/after
        property values where the endpoint gives them; None (and the change set deleted)
        when it failed for holding no change. WaitTimedOut past the deadline."""
        started = self.waits.clock()
        for delay in backoff():
            try:
                raw = self._call("describe_change_set", ChangeSetName=change_set_id,
                                 IncludePropertyValues=True)
            except ClientError as exc:
                raise ChangeSetFailed(stack_name, _message(exc)) from None
            status = ChangeSetStatus(raw.get("Status", ""))
            if status == ChangeSetStatus.FAILED:
                reason = raw.get("StatusReason", "") or "no reason given"
                if any(marker in reason for marker in NO_CHANGES):
                    self.delete_change_set(change_set_id)
                    return None
                findings = self.validation_findings(change_set_id)
                if findings:
                    raise ValidationFailed(stack_name, reason, findings)
                raise ChangeSetFailed(stack_name, reason)
            if status == ChangeSetStatus.CREATE_COMPLETE:
                changes = list(raw.get("Changes", []))
                token = raw.get("NextToken")
                while token:
                    page = self._call("describe_change_set", ChangeSetName=change_set_id,
                                      NextToken=token, IncludePropertyValues=True)
                    changes += page.get("Changes", [])
                    token = page.get("NextToken")
                return ChangeSet(
                    id=change_set_id, name=raw.get("ChangeSetName", ""), stack_name=stack_name,
                    stack_id=raw.get("StackId", ""), kind="", status=status,
                    changes=tuple(Change.from_api(c) for c in changes),
                    validation=tuple(self.validation_findings(change_set_id)),
                )
            if on_poll:
                on_poll(status, self.waits.clock() - started)
            self._pause(f"change set on {stack_name}", status or "pending", started,
                        self.waits.change_set_seconds, delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def change_set_content(self, change_set_id: str) -> ChangeSetContent:
        """The change set as AWS holds it; ChangeSetFailed when it cannot be read."""
        try:
            raw = self._call("describe_change_set", ChangeSetName=change_set_id)
            body = self._call("get_template", ChangeSetName=change_set_id,
                              TemplateStage="Original")["TemplateBody"]
        except ClientError as exc:
            raise ChangeSetFailed(change_set_id, _message(exc)) from None
        return ChangeSetContent(
            arn=str(raw.get("ChangeSetId", "")), stack_id=str(raw.get("StackId", "")),
            stack_name=str(raw.get("StackName", "")), status=str(raw.get("Status", "")),
            execution_status=str(raw.get("ExecutionStatus", "")),
            template=body if isinstance(body, str) else str(body),
            parameters={str(p.get("ParameterKey")): str(p.get("ParameterValue", ""))
                        for p in raw.get("Parameters") or []},
            tags={str(t.get("Key")): str(t.get("Value", "")) for t in raw.get("Tags") or []})

    def execute_change_set(self, change_set_id: str, stack_name: str) -> None:
        try:
            self._call("execute_change_set", ChangeSetName=change_set_id)
        except ClientError as exc:
            # The endpoint refused or broke mid-operation: that stack's failure.
            raise StackOperationFailed(stack_name, ExecutionStatus.EXECUTE_FAILED,
                                       [_message(exc)]) from None
        except AwsError as exc:
            raise StackOperationFailed(stack_name, ExecutionStatus.EXECUTE_FAILED,
                                       [str(exc)]) from None

    def update_tags(self, stack_name: str, tags: dict[str, str]) -> StackInfo:
        """Set a stack's tags, keeping its template and parameter values; wait for it."""
        current = self.describe(stack_name)
        if current is None:
            raise StackNotFound(stack_name)
        try:
            self._call("update_stack", StackName=stack_name, UsePreviousTemplate=True,
                       Parameters=[{"ParameterKey": k, "UsePreviousValue": True}
                                   for k in current.parameters],
                       Capabilities=CAPABILITIES,
                       Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        except ClientError as exc:
            raise StackOperationFailed(stack_name, StackStatus.UPDATE_FAILED,
                                       [_message(exc)]) from None
        info = self.wait_stack(stack_name)
        assert info is not None
        if not info.status.is_success():
            raise StackOperationFailed(stack_name, info.status, [])
        return info

    # --- events -------------------------------------------------------------------

    def latest_event_id(self, stack_name: str) -> str | None:
        try:
            events = self._call("describe_stack_events", StackName=stack_name)["StackEvents"]
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise AwsError(f"describe_stack_events: {_message(exc)}") from None
        return str(events[0]["EventId"]) if events else None

    def failed_events(self, **selector: str) -> list[OperationEvent] | None:
        """DescribeEvents with FailedEvents (``StackName=`` or ``ChangeSetName=``): failed
        events by operation; None where the endpoint or the installed botocore has no
        DescribeEvents, or denies it."""
        if not hasattr(self.client, "describe_events"):  # botocore older than 1.41
            return None
        try:
            return [OperationEvent.from_api(raw)
                    for page in self._pages("describe_events", **selector,
                                            Filters={"FailedEvents": True})
                    for raw in page.get("OperationEvents", [])]
        except (ClientError, AwsError):
            return None

    def validation_findings(self, change_set_id: str) -> list[ValidationFinding]:
        """The change set's pre-deployment validation results (FAIL and WARN): DescribeEvents
        with its ChangeSetName (user guide, "Validate stack deployments": results come back
        as events), and its hooks' failures (ListHookResults); none where neither answers."""
        found: dict[str, list[ValidationFinding]] = {"events": [], "hooks": []}

        def read(key: str, operation: str, items: str, **selector: str) -> None:
            with contextlib.suppress(ClientError, AwsError):  # no DescribeEvents before 1.41
                pages = self._pages(operation, **selector) if hasattr(self.client, operation) else ()
                found[key] = (findings_of if key == "events" else hook_findings)(
                    r for page in pages for r in page.get(items, []))
        # Two independent round trips on each stack's way to execution, side by side.
        hooks = threading.Thread(target=read, args=("hooks", "list_hook_results", "HookResults"),
                                 kwargs={"TargetType": "CHANGE_SET", "TargetId": change_set_id})
        hooks.start()
        read("events", "describe_events", "OperationEvents", ChangeSetName=change_set_id)
        hooks.join()
        return found["events"] + found["hooks"]

    def validation_failures(self, change_set_id: str) -> list[str]:
        """The change set's validation results, one line each."""
        return [f.line() for f in self.validation_findings(change_set_id)]

    def root_causes(self, stack_name: str, since: datetime, seen: list[str]) -> list[str]:
        """The failed operation's root causes from DescribeEvents, else ``seen`` (the
        failures read from the stack events while waiting)."""
        events = self.failed_events(StackName=stack_name)
        return (root_causes(events, since) if events else []) or seen

    def events_since(self, stack_name: str, last_seen: str | None) -> list[Event]:
        """Events newer than ``last_seen``, oldest first: one call, the newest page (100
        events on AWS; a poll every few seconds never sees more new ones), so a poll costs
        one DescribeStackEvents however long the stack's history is."""
        fresh: list[Event] = []
        try:
            for page in itertools.islice(
                    self._pages("describe_stack_events", StackName=stack_name), 1):
                for raw in page.get("StackEvents", []):
                    if raw["EventId"] == last_seen:
                        return list(reversed(fresh))
                    fresh.append(Event.from_api(raw))
        except ClientError as exc:
            if not _is_missing(exc):
                raise AwsError(f"describe_stack_events: {_message(exc)}") from None
        return list(reversed(fresh))
