"""Stack operations that take AWS's time (``stackgen local up --latency real --time-scale N``).

moto finishes every operation inside the request; on AWS a stack stays *_IN_PROGRESS for
minutes while each resource is created and stabilizes, each resource starting once those it
depends on (DependsOn, Ref, Fn::GetAtt, Fn::Sub) are done (CloudFormation user guide,
"DependsOn attribute"; AWS DevOps blog on optimistic stabilization). Off by default.

The operation still runs in moto at once (so its outcome, failures and rollbacks included,
is moto's and our emulation's); what is shifted is the view: each resource gets a window
[start, end) from ``generator.latency``'s typical figure divided by the time scale, in the
template's dependency order, and DescribeStacks, DescribeStackEvents, DescribeStackResources
and ListStackResources show the stack and each resource as they would be at that moment:
events appear when their time comes, the stack reads *_IN_PROGRESS (with no Outputs
during a create and its previous Outputs during an update, as AWS shows them) until its
last resource is done, then its real final status. A resource that
failed fails at the end of its window; the rollback then takes its own modelled time.
"At that moment" is the model's Clock: the real time plus what the endpoint's token holder
moved it on by (server.CLOCK_PATH), so tests see the modelled minutes pass without waiting.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from graphlib import TopologicalSorter
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.responses import ActionResult
from moto.core.utils import utcnow

from generator.cfndoc import refers_to
from generator.latency import Operation, latency

STACK_TYPE = "AWS::CloudFormation::Stack"
_OPS: dict[str, Operation] = {"Add": "CREATE", "Modify": "UPDATE", "Remove": "DELETE"}


@dataclass
class Model:
    enabled: bool = False
    time_scale: float = 1.0

    def seconds(self, resource_type: str, operation: Operation) -> float:
        return latency(resource_type).of(operation) / self.time_scale


MODEL = Model()


def configure(enabled: bool, time_scale: float) -> None:
    if time_scale <= 0:
        raise ValueError("time scale must be positive")
    MODEL.enabled, MODEL.time_scale = enabled, time_scale


class Clock:
    """The model's "now": moto's (the real UTC time) plus what the endpoint's token holder
    moved it on by (``server.CLOCK_PATH``), so a test sees a resource's modelled minutes
    pass without waiting for them. It only ever moves forward: a window once past stays
    past, and moto's own timestamps (taken from the real clock) are never in its future.
    AWS has no such thing; nothing on the deploy path moves it."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return utcnow() + self._offset

    def advance(self, seconds: float) -> timedelta:
        """Move on by ``seconds`` (not negative, finite); the offset now in force."""
        if not 0 <= seconds < float("inf"):
            raise ValueError("the clock moves forward by a finite number of seconds")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            return self._offset

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset


CLOCK = Clock()


@dataclass
class Window:
    start: datetime
    end: datetime
    operation: Operation
    failed: bool = False


@dataclass
class Timeline:
    """What one modelled operation of a stack shows, and until when."""

    until: datetime
    windows: dict[str, Window] = field(default_factory=dict)
    # Outputs shown meanwhile: none during a create, the previous ones during an update
    # (CloudFormation keeps them until the update completes; the DescribeStacks Outputs of
    # a stack in UPDATE_IN_PROGRESS are its last complete operation's).
    outputs: dict[str, Any] = field(default_factory=lambda: _Outputs())

    def active(self, now: datetime) -> bool:
        return now < self.until


_TIMELINES: dict[str, Timeline] = {}


def depends_on(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource's dependencies among ``resources``: DependsOn, Ref, GetAtt, Sub."""
    names = set(resources)
    out: dict[str, set[str]] = {}
    for name, body in resources.items():
        body = body or {}
        deps = body.get("DependsOn") or []
        found = {d for d in ([deps] if isinstance(deps, str) else deps) if d in names}
        props = body.get("Properties")
        found |= {other for other in names - {name} if refers_to(props, {other})}
        out[name] = found
    return out


def schedule(resources: dict[str, Any], ops: dict[str, Operation], start: datetime,
             model: Model, reverse: bool = False) -> dict[str, Window]:
    """A window per resource in ``ops``: each starts when the changed resources it depends
    on are done (``reverse``, for deletes: when those depending on it are gone)."""
    deps = depends_on(resources)
    graph: dict[str, set[str]] = {}
    for name in ops:
        if reverse:
            graph[name] = {other for other in ops if name in deps.get(other, set())}
        else:
            graph[name] = deps.get(name, set()) & set(ops)
    windows: dict[str, Window] = {}
    for name in TopologicalSorter(graph).static_order():
        begin = max([start, *(windows[d].end for d in graph[name])])
        kind = str((resources.get(name) or {}).get("Type", ""))
        seconds = model.seconds(kind, ops[name])
        windows[name] = Window(begin, begin + timedelta(seconds=seconds), ops[name])
    return windows


def _end(windows: dict[str, Window], start: datetime) -> datetime:
    return max([start, *(w.end for w in windows.values())])


def _event(stack: Any, logical_id: str, resource_type: str, status: str,
           when: datetime, reason: str | None = None) -> Any:
    event = cfn_models.Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
        physical_resource_id="", resource_type=resource_type, resource_status=status,
        resource_status_reason=reason, resource_properties=None)
    event.timestamp = when
    return event


def _is_stack_event(stack: Any, event: Any) -> bool:
    return bool(event.resource_type == STACK_TYPE and event.logical_resource_id == stack.name)


def _retime(stack: Any, produced: list[Any], resources: dict[str, Any],
            windows: dict[str, Window], cleanup: dict[str, Window], start: datetime,
            rollback: Operation | None, rollback_resources: dict[str, Any]) -> Timeline:
    """Replace the events one operation produced at once by the same story over time."""
    failed_at = next((i for i, e in enumerate(produced)
                      if e.resource_status.endswith("_FAILED") and not _is_stack_event(stack, e)),
                     None)
    story: list[Any] = []

    def tell(name: str, window: Window, done: bool) -> None:
        kind = str((resources.get(name) or {}).get("Type", ""))
        story.append(_event(stack, name, kind, f"{window.operation}_IN_PROGRESS", window.start))
        if done:
            story.append(_event(stack, name, kind, f"{window.operation}_COMPLETE", window.end))

    if failed_at is None:
        main_end = _end(windows, start)
        until = _end(cleanup, main_end)
        for e in produced:
            opening = _is_stack_event(stack, e) and e.resource_status.endswith("_IN_PROGRESS")
            e.timestamp = start if opening else until
        if cleanup:
            story.append(_event(stack, stack.name, STACK_TYPE,
                                "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", main_end))
        shown = {**windows, **cleanup}
        for name, each in shown.items():
            tell(name, each, True)
    else:
        failed = produced[failed_at].logical_resource_id
        window = windows.get(failed)
        fail_time = window.end if window else start
        if window is not None:
            window.failed = True
        shown = {n: w for n, w in windows.items() if w.start < fail_time or n == failed}
        done = [n for n, w in shown.items() if w.end <= fail_time and n != failed]
        undo = {} if rollback is None else schedule(
            rollback_resources, {n: rollback for n in done if shown[n].operation != "DELETE"},
            fail_time, MODEL, reverse=rollback == "DELETE")
        until = _end(undo, fail_time)
        for i, e in enumerate(produced):
            terminal = _is_stack_event(stack, e) and not e.resource_status.endswith("_IN_PROGRESS")
            e.timestamp = start if i < failed_at else until if terminal else fail_time
        for name, w in shown.items():
            if name != failed:
                tell(name, w, name in done)
        if window is not None:  # its IN_PROGRESS; the FAILED event is moto's own
            kind = str((resources.get(failed) or {}).get("Type", ""))
            story.append(_event(stack, failed, kind, f"{window.operation}_IN_PROGRESS",
                                window.start))
        for name, w in undo.items():
            kind = str((rollback_resources.get(name) or {}).get("Type", ""))
            story.append(_event(stack, name, kind, f"{w.operation}_IN_PROGRESS", w.start))
            story.append(_event(stack, name, kind, f"{w.operation}_COMPLETE", w.end))

    def rank(event: Any) -> int:
        """At one moment: what moto said first, then the resources, then the verdict."""
        if not any(event is p for p in produced):
            return 1
        verdict = _is_stack_event(stack, event) and not event.resource_status.endswith(
            "_IN_PROGRESS")
        return 2 if verdict else 0

    story += produced
    story.sort(key=lambda e: (e.timestamp, rank(e)))  # stable within a rank
    stack.events.extend(story)
    return Timeline(until, shown)


@dataclass(frozen=True)
class _Shown:
    """An output as DescribeStacks lists it, frozen at one moment."""

    key: str
    value: Any
    description: Any = None


class _Outputs(dict[str, Any]):
    """Outputs (and their exports) frozen at one moment: what moto's OutputMap offers."""

    def __init__(self) -> None:
        super().__init__()
        self.exports: list[Any] = []


def _outputs_now(stack: Any) -> _Outputs:
    """The stack's outputs as they are now (moto's OutputMap resolves them lazily, from
    the resources as they are when read)."""
    frozen = _Outputs()
    output_map = getattr(stack, "output_map", None)
    if output_map is not None:
        frozen.update({o.key: _Shown(o.key, o.value, o.description)
                       for o in output_map.values() if o})
        frozen.exports = list(output_map.exports)
    return frozen


def _execute_takes_time() -> None:
    original = cfn_models.CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        if not MODEL.enabled:
            original(self, change_set_name, stack_name)
            return
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        old = dict((getattr(stack, "template_dict", None) or {}).get("Resources") or {})
        new = dict((change_set.template_dict or {}).get("Resources") or {})
        ops = {c.logical_resource_id: _OPS[c.action] for c in change_set.changes
               if c.action in _OPS}
        start = CLOCK.now()
        mark = len(stack.events)
        previous = _outputs_now(stack)
        try:
            original(self, change_set_name, stack_name)
        finally:
            produced = stack.events[mark:]
            del stack.events[mark:]
            forward: dict[str, Operation] = {n: o for n, o in ops.items() if o != "DELETE"}
            windows = schedule(new, forward, start, MODEL)
            removed: dict[str, Operation] = {n: o for n, o in ops.items() if o == "DELETE"}
            cleanup = schedule(old, removed, _end(windows, start), MODEL, reverse=True)
            kind = change_set.change_set_type
            timeline = _retime(
                stack, produced, {**old, **new}, windows, cleanup, start,
                "DELETE" if kind == "CREATE" else "UPDATE", new if kind == "CREATE" else old)
            if kind != "CREATE":
                timeline.outputs = previous
            _TIMELINES[stack.stack_id] = timeline

    cfn_models.CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


def _delete_takes_time() -> None:
    original = cfn_models.CloudFormationBackend.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        if not MODEL.enabled:
            original(self, name_or_stack_id)
            return
        stack = next((s for s in self.stacks.values()
                      if name_or_stack_id in (s.stack_id, s.name)), None)
        if stack is None:
            original(self, name_or_stack_id)
            return
        resources = dict((stack.template_dict or {}).get("Resources") or {})
        # The resources made, read without moto's resource map making any on access: a
        # failed create's service was placed again here, and its placement error answered
        # the DeleteStack with HTTP 500 (the stack could never be deleted).
        present = set(stack.resource_map._parsed_resources)
        ops: dict[str, Operation] = {n: "DELETE" for n in resources if n in present}
        start = CLOCK.now()
        mark = len(stack.events)
        try:
            original(self, name_or_stack_id)
        finally:
            produced = stack.events[mark:]
            del stack.events[mark:]
            windows = schedule(resources, ops, start, MODEL, reverse=True)
            _TIMELINES[stack.stack_id] = _retime(stack, produced, resources, windows, {},
                                                 start, None, {})

    cfn_models.CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]


# --- the time-shifted view ----------------------------------------------------------------


def _timeline(stack: Any, now: datetime) -> Timeline | None:
    found = _TIMELINES.get(stack.stack_id)
    return found if found is not None and found.active(now) else None


def _visible_events(stack: Any, now: datetime) -> list[Any]:
    return [e for e in stack.events if e.timestamp <= now]


def _view(stack: Any, now: datetime) -> Any:
    """The stack as DescribeStacks shows it at ``now``."""
    timeline = _timeline(stack, now)
    if timeline is None:
        return stack
    view = copy.copy(stack)
    latest = [e for e in _visible_events(stack, now) if _is_stack_event(stack, e)]
    view.status = latest[-1].resource_status if latest else stack.status
    view.output_map = timeline.outputs
    return view


def _in_flight_by_name(backend: Any, name: str, now: datetime) -> list[Any]:
    """A stack being deleted still answers to its name until the delete is done."""
    return [s for s in backend.deleted_stacks.values()
            if s.name == name and _timeline(s, now) is not None]


def _resource_status(stack: Any, logical_id: str, now: datetime) -> str | None:
    """A resource's status at ``now``; None while a create has not started."""
    timeline = _timeline(stack, now)
    window = timeline.windows.get(logical_id) if timeline else None
    if window is None:
        return "CREATE_COMPLETE"
    if now < window.start:
        return None if window.operation == "CREATE" else "CREATE_COMPLETE"
    if now < window.end:
        return f"{window.operation}_IN_PROGRESS"
    return f"{window.operation}_{'FAILED' if window.failed else 'COMPLETE'}"


def _views_follow_the_clock() -> None:
    backend_class = cfn_models.CloudFormationBackend
    describe_stacks, get_stack = backend_class.describe_stacks, backend_class.get_stack
    describe_events = backend_class.describe_stack_events

    def describe(self: Any, name_or_stack_id: str) -> list[Any]:
        now = CLOCK.now()
        try:
            found = describe_stacks(self, name_or_stack_id)
        except ValidationError:
            found = _in_flight_by_name(self, name_or_stack_id, now)
            if not found:
                raise
        if not name_or_stack_id:
            found = [*found, *(s for s in self.deleted_stacks.values()
                               if _timeline(s, now) is not None)]
        return [_view(s, now) for s in found]

    def get(self: Any, name_or_stack_id: str) -> Any:
        try:
            return get_stack(self, name_or_stack_id)
        except ValidationError:
            found = _in_flight_by_name(self, name_or_stack_id, CLOCK.now())
            if not found:
                raise
            return found[0]

    def events(self: Any, stack_name: str) -> list[Any]:
        stack = self.get_stack(stack_name)
        all_events: list[Any] = describe_events(self, stack_name)
        now = CLOCK.now()
        return all_events if _timeline(stack, now) is None else _visible_events(stack, now)

    backend_class.describe_stacks = describe  # type: ignore[method-assign]
    backend_class.get_stack = get  # type: ignore[method-assign]
    backend_class.describe_stack_events = events  # type: ignore[method-assign]

    response_class = cfn_responses.CloudFormationResponse
    list_resources = response_class.list_stack_resources
    describe_resources = response_class.describe_stack_resources

    def list_stack_resources(self: Any) -> ActionResult:
        answer = list_resources(self)
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        now = CLOCK.now()
        if _timeline(stack, now) is None:
            return answer
        summaries = []
        for row in answer.result["StackResourceSummaries"]:  # type: ignore[index]
            status = _resource_status(stack, row["LogicalResourceId"], now)
            if status is not None:
                summaries.append({**row, "ResourceStatus": status})
        return ActionResult({"StackResourceSummaries": summaries})

    def describe_stack_resources(self: Any) -> ActionResult:
        answer = describe_resources(self)
        rows = answer.result["StackResources"]  # type: ignore[index]
        now = CLOCK.now()
        shown = []
        for row in rows:
            stack = self.cloudformation_backend.get_stack(row.stack_id)
            if _timeline(stack, now) is None:
                shown.append(row)
                continue
            status = _resource_status(stack, row.logical_resource_id or "", now)
            if status is not None:
                row.resource_status = status
                row.stack_status = _view(stack, now).status
                shown.append(row)
        return ActionResult({"StackResources": shown})

    response_class.list_stack_resources = list_stack_resources  # type: ignore[method-assign]
    response_class.describe_stack_resources = describe_stack_resources  # type: ignore[method-assign]


def apply() -> None:
    """After ``stacks.apply``: the operation it emulates (failures, rollbacks) is what the
    model spreads over time."""
    _execute_takes_time()
    _delete_takes_time()
    _views_follow_the_clock()
