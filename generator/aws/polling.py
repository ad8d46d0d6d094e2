"""Waiting on CloudFormation: deadlines by resource type, poll pacing, the poll budget
shared by every thread, and the typed ends of a wait (timed out, abandoned)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

import msgspec

from generator.errors import StackgenError
from generator.latency import TABLE as LATENCY_TABLE
from generator.yamlsrc import load_cfn

DEFAULT_DEADLINE = 30 * 60
# How long a stack operation may take, by the slowest resource type it holds: the upper
# figures of generator/latency.py (RDS instances 60 min, ...) where they pass the default,
# which stays the floor: a deadline only cuts off an operation that hung.
SLOW_TYPES: Mapping[str, float] = {
    kind: row.upper for kind, row in LATENCY_TABLE.items() if row.upper > DEFAULT_DEADLINE}
CHANGE_SET_DEADLINE = 15 * 60  # creating a change set takes seconds; minutes at worst


class Waits(msgspec.Struct, frozen=True):
    """How long each wait may last and how it is paced: passed in, never global, so a
    test gives a fake clock and a deadline of seconds."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    default_seconds: float = DEFAULT_DEADLINE
    by_type: Mapping[str, float] = msgspec.field(default_factory=lambda: dict(SLOW_TYPES))
    change_set_seconds: float = CHANGE_SET_DEADLINE
    progress_every: float = 30.0  # a progress line while a wait goes on this long
    # How many times faster than AWS the endpoint's clock runs: the latency model's
    # --time-scale, so polls and deadlines keep their proportions there. 1 on AWS.
    time_scale: float = msgspec.field(default_factory=lambda: time_scale_from_env())
    # One budget for every poll of the stacks in flight (threads share this Waits).
    budget: PollBudget = msgspec.field(default_factory=lambda: PollBudget())

    def for_types(self, types: Iterable[str]) -> float:
        """The deadline of a stack: that of the slowest resource type it holds."""
        return max([self.by_type.get(t, self.default_seconds) for t in types],
                   default=self.default_seconds) / self.time_scale

    def for_stack(self, template: str, children: Iterable[str] | None = None) -> float:
        """How long a stack's operation may take: by the slowest resource type it holds;
        the nested form's root (``children``: its child templates), the sum of its
        children's (a bound: some run side by side)."""
        if children is not None and "AWS::CloudFormation::Stack" in resource_types(template):
            return sum(self.for_types(resource_types(c)) for c in children)
        return self.for_types(resource_types(template))


def resource_types(template: str) -> set[str]:
    resources = load_cfn(template).get("Resources") or {}
    return {str(r.get("Type")) for r in resources.values()}


def minutes(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{seconds:.1f}s"


class WaitTimedOut(StackgenError):
    """A stack or change set was still in progress when its deadline passed."""

    exit_code = 1

    def __init__(self, name: str, status: str, elapsed: float, deadline: float) -> None:
        super().__init__(
            f"{name} still {status} after {minutes(elapsed)} (deadline {minutes(deadline)}); "
            "CloudFormation carries on without us: see `stackgen status`, or allow longer "
            "with --wait-timeout")
        self.name = name
        self.status = status


class WaitAbandoned(StackgenError):
    """Ctrl-C a second time: we stopped waiting; the operation goes on in AWS."""

    exit_code = 1

    def __init__(self, name: str, status: str) -> None:
        super().__init__(f"stopped waiting while {name} was {status}; "
                         "CloudFormation carries on without us: see `stackgen status`")
        self.name = name
        self.status = status


# Poll pacing for real CloudFormation. The first look comes at once (a no-op or a fast stack
# is done), the next after 0.5 s, growing by half to 2 s, where it holds for the first
# minute: a stack of quick resources, or a failure early on, is noticed within 2 s. Past a
# minute the delay grows to a 5 s cap, since what keeps a stack waiting that long takes
# minutes (generator/latency.py): 5 s late is under 3 % of a two-minute NAT gateway. A poll
# is two calls (DescribeStacks, one page of DescribeStackEvents), so a stack costs about 60
# calls in its first minute and at most 24 a minute after. botocore's own waiters poll every
# 30 s (waiters-2.json) and the AWS CLI went back to them because faster fixed polling got
# customers throttled (aws/aws-cli#5286): PollBudget keeps the sum of every stack's polls
# under a rate instead.
POLL_START = 0.5
POLL_HOLD = 2.0  # the longest delay during the first POLL_HOLD_FOR seconds
POLL_HOLD_FOR = 60.0
POLL_CAP = 5.0
POLL_FACTOR = 1.5
# CloudFormation publishes no rate for its Describe* calls; tools polling ~20 stacks every
# 1-5 s get "Rate exceeded" (aws/aws-cdk#5637, cloudtools/stacker#337). 10 calls a second
# is 25 stacks in flight at the cap (2 calls / 5 s each); a burst of 40 lets a deploy whose
# stacks finish at once (a no-op, the local endpoint) go unhindered. An answer of
# Throttling halves the rate (it grows back slowly), so the budget finds the account's.
POLL_RATE = 10.0
POLL_BURST = 40.0
POLL_FLOOR = 0.5  # calls a second: the rate never halves below this
THROTTLED = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded"})
THROTTLE_RETRIES = 5
POLLING_CALLS = frozenset({"describe_stacks", "describe_stack_events"})


def backoff(start: float = POLL_START, cap: float = POLL_CAP, factor: float = POLL_FACTOR,
            hold: float = POLL_HOLD, hold_for: float = POLL_HOLD_FOR) -> Iterator[float]:
    """Poll delays: fast first (most operations end at once or fail early), at most ``hold``
    for the first ``hold_for`` seconds, then patient up to ``cap``."""
    delay, waited = start, 0.0
    while True:
        yield delay
        waited += delay
        delay = min(cap if waited >= hold_for else min(cap, hold), delay * factor)


def time_scale_from_env() -> float:
    """STACKGEN_TIME_SCALE: the endpoint's time scale (bench and tests on the latency
    model); unset, or anything not a positive number, is 1."""
    try:
        scale = float(os.environ.get("STACKGEN_TIME_SCALE", "1"))
    except ValueError:
        return 1.0
    return scale if scale > 0 else 1.0


class PollBudget:
    """A token bucket shared by every thread that polls: at most ``rate`` polling calls a
    second on average, ``burst`` at once; a caller over budget waits for its token."""

    def __init__(self, rate: float = POLL_RATE, burst: float = POLL_BURST) -> None:
        self.rate = rate
        self.ceiling = rate
        self.burst = burst
        self._tokens = burst
        self._last: float | None = None
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds callers spent waiting for a token (for the bench)

    def take(self, clock: Callable[[], float], sleep: Callable[[float], None],
             scale: float = 1.0) -> None:
        """One token; ``scale`` speeds the refill as the endpoint's clock runs faster."""
        while True:
            with self._lock:
                now = clock()
                if self._last is not None:
                    self._tokens = min(self.burst,
                                       self._tokens + (now - self._last) * self.rate * scale)
                self._last = now
                if self._tokens >= 1 - 1e-9:  # float dust must not leave a caller spinning
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                wait = max(1e-3 / scale, (1 - self._tokens) / (self.rate * scale))
                self.waited += wait
            sleep(wait)

    def throttled(self) -> None:
        """CloudFormation said Throttling: halve the rate (no lower than POLL_FLOOR)."""
        with self._lock:
            self.rate = max(POLL_FLOOR, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)

    def answered(self) -> None:
        """A polling call went through: the rate creeps back towards its ceiling."""
        if self.rate < self.ceiling:
            with self._lock:
                self.rate = min(self.ceiling, self.rate + 0.1)
