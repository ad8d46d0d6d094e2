"""Run per-node work over a dependency graph: a node starts as soon as every upstream
node succeeded, up to ``concurrency`` at once; a failure blocks only what is downstream
of it, independent branches finish.

Nothing here knows AWS or stacks: a node is any hashable key (a stack, an (env, stack)
pair, a stack in reverse for delete), the work any function of it. Ctrl-C stops
starting new work and waits for what runs; a second Ctrl-C stops waiting (``abandon``
tells the work to give up its waits) and the run ends within seconds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

# How long the second Ctrl-C waits for abandoned work to return.
ABANDON_GRACE_SECONDS = 10.0
# The longest the main thread blocks in one wait: how late it may see a Ctrl-C.
POLL_SECONDS = 0.5


class Skip(enum.Enum):
    """Why a node did not run (or did not finish) under the scheduler."""

    BLOCKED = "blocked"  # an upstream node failed
    STOPPED = "stopped"  # stop was set (Ctrl-C, a lost lock) before it started
    NEVER_STARTED = "never_started"  # the run ended (Ctrl-C) with it still pending
    ABANDONED = "abandoned"  # still running when the second Ctrl-C stopped waiting


class NotRun(msgspec.Struct, Generic[K], frozen=True):
    skip: Skip
    cause: K | None = None  # BLOCKED: the failed upstream node


def _never_stopped(_: object) -> bool:
    return False


def _say_nothing(_: str) -> None:
    return None


def _nothing() -> None:
    return None


@dataclass
class Scheduler(Generic[K, R]):
    """``upstream``: each node's upstream nodes, in the order nodes should start when
    several are ready (upstreams outside the mapping are taken as done). ``ok`` says
    whether a result lets downstream start; ``not_run`` makes the result of a node that
    did not run. ``stopped(node)`` says whether a node may still start (a lost lock
    stops one env); ``fail_fast(node)`` names a group whose pending nodes stop after
    one of them fails (delete: what remains stays)."""

    upstream: Mapping[K, Sequence[K]]
    work: Callable[[K], R]
    ok: Callable[[R], bool]
    not_run: Callable[[K, NotRun[K]], R]
    concurrency: int = 4
    stopped: Callable[[K], bool] = _never_stopped
    on_done: Callable[[K, R], None] | None = None
    on_stop: Callable[[], None] = _nothing  # first Ctrl-C: let in-flight work know
    on_abandon: Callable[[], None] = _nothing  # second Ctrl-C: in-flight waits give up
    say: Callable[[str], None] = _say_nothing
    fail_fast: Callable[[K], Hashable] | None = None
    patient: bool = True  # False: the first Ctrl-C stops waiting at once (delete)

    def __post_init__(self) -> None:
        self.interrupted = False
        self.abandoned = False

    def run(self) -> dict[K, R]:
        """Every node's result, in the mapping's order."""
        nodes = list(self.upstream)
        inside = set(nodes)
        ups = {n: [u for u in self.upstream[n] if u in inside] for n in nodes}
        results: dict[K, R] = {}
        running: dict[Future[R], K] = {}
        pending = list(nodes)
        failed_groups: set[Hashable] = set()

        def ready(node: K) -> bool:
            return all(u in results and self.ok(results[u]) for u in ups[node])

        def blocked(node: K) -> K | None:
            for u in ups[node]:
                if u in results and not self.ok(results[u]):
                    return u
            return None

        def halted(node: K) -> bool:
            return self.interrupted or self.stopped(node) or (
                self.fail_fast is not None and self.fail_fast(node) in failed_groups)

        pool = ThreadPoolExecutor(max_workers=max(1, self.concurrency))
        try:
            try:
                while pending or running:
                    for node in list(pending):
                        cause = blocked(node)
                        if cause is not None or halted(node):
                            pending.remove(node)
                            results[node] = self.not_run(
                                node, NotRun(Skip.BLOCKED, cause) if cause is not None
                                else NotRun(Skip.STOPPED))
                        elif ready(node) and len(running) < self.concurrency:
                            fut = pool.submit(self.work, node)
                            running[fut] = node
                            pending.remove(node)
                    if not running:
                        if pending and not any(ready(n) for n in pending):
                            raise AssertionError(f"schedule stuck on {pending}")
                        continue
                    done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                    for fut in done:  # the result first: Ctrl-C in between loses nothing
                        node = running[fut]
                        self._record(node, fut.result(), results, failed_groups)
                        del running[fut]
            except KeyboardInterrupt:
                self.interrupted = True
                self.on_stop()
                if self.patient:
                    self._finish(running, results, failed_groups)
                else:
                    self._abandon(running, results)
        finally:
            # Let no worker outlive the run (one handed over as Ctrl-C landed included),
            # unless a second Ctrl-C said to stop waiting for them.
            pool.shutdown(wait=not self.abandoned, cancel_futures=True)
        return {n: results[n] if n in results else self.not_run(n, NotRun(Skip.NEVER_STARTED))
                for n in nodes}

    def _record(self, node: K, result: R, results: dict[K, R],
                failed_groups: set[Hashable]) -> None:
        results[node] = result
        if self.ok(result):
            if self.on_done is not None:
                self.on_done(node, result)
        elif self.fail_fast is not None:
            failed_groups.add(self.fail_fast(node))

    def _finish(self, running: dict[Future[R], K], results: dict[K, R],
                failed_groups: set[Hashable]) -> None:
        """After Ctrl-C: wait for the running work; a second Ctrl-C stops every wait
        and we leave within seconds."""
        try:
            # Inside the try: a second Ctrl-C landing while this prints is caught too.
            self.say("interrupted: no new stack starts; finishing what runs "
                     "(Ctrl-C again to stop waiting)")
            for fut, node in list(running.items()):
                if node not in results:
                    while not fut.done():
                        # Never a wait without a timeout: a Ctrl-C whose signal lands just
                        # before the wait begins interrupts nothing, and is only seen when
                        # the wait returns (with fut.result() alone: when the stack is done).
                        wait([fut], timeout=POLL_SECONDS)
                    self._record(node, fut.result(), results, failed_groups)
        except KeyboardInterrupt:
            self._abandon(running, results,
                          "interrupted again: no longer waiting for CloudFormation")

    def _abandon(self, running: dict[Future[R], K], results: dict[K, R],
                 message: str | None = None) -> None:
        """Tell the work to stop waiting; take what returns within the grace period."""
        self.abandoned = True
        self.on_abandon()
        if message:
            self.say(message)
        done, _ = wait(list(running), timeout=ABANDON_GRACE_SECONDS)
        for fut, node in running.items():
            if node not in results:
                results[node] = fut.result() if fut in done else self.not_run(
                    node, NotRun(Skip.ABANDONED))
