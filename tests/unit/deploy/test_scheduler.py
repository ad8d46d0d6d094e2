"""The graph scheduler on its own: plain functions over a fake graph, no AWS."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from generator.deploy import scheduler
from generator.deploy.scheduler import NotRun, Scheduler, Skip

# a -> b -> d, a -> c, e alone (the shape of network -> alb -> ecs, network -> rds, dns)
GRAPH = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}


class Log:
    """What ran, when it started and ended, and how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.finished: list[str] = []
        self.now = 0
        self.most = 0

    def work(self, fail: frozenset[str] = frozenset(),
             together: int = 0) -> Callable[[str], str]:
        """Work that records itself; with ``together``, each piece waits until that many
        run at once (a barrier, so no test waits on the clock to see concurrency)."""
        barrier = threading.Barrier(together) if together else None

        def run(node: str) -> str:
            with self.lock:
                self.started.append(node)
                self.now += 1
                self.most = max(self.most, self.now)
            if barrier is not None:
                barrier.wait(timeout=10)
            with self.lock:
                self.now -= 1
                self.finished.append(node)
            return f"fail:{node}" if node in fail else f"ok:{node}"
        return run


def _not_run(node: str, why: NotRun[str]) -> str:
    return f"{why.skip.value}:{node}" + (f"<{why.cause}" if why.cause else "")


def _ok(result: str) -> bool:
    return result.startswith("ok:")


def test_a_node_starts_only_after_its_upstreams_succeeded() -> None:
    log = Log()
    results = Scheduler(GRAPH, log.work(), _ok, _not_run, concurrency=4).run()
    assert results == {n: f"ok:{n}" for n in GRAPH}
    assert list(results) == list(GRAPH)  # the mapping's order
    for node, ups in GRAPH.items():
        for up in ups:
            assert log.finished.index(up) < log.started.index(node), (up, node)


def test_independent_nodes_run_side_by_side_within_the_bound() -> None:
    wide = {str(i): [] for i in range(6)}
    log = Log()
    # Each piece waits for two others: three at once, else the barrier breaks the run.
    Scheduler(wide, log.work(together=3), _ok, _not_run, concurrency=3).run()
    assert log.most == 3 and sorted(log.finished) == sorted(wide)


def test_concurrency_one_runs_in_the_mapping_order() -> None:
    log = Log()
    order = {"e": [], "a": [], "c": ["a"], "b": ["a"], "d": ["b", "c"]}
    Scheduler(order, log.work(), _ok, _not_run, concurrency=1).run()
    assert log.started == ["e", "a", "c", "b", "d"]
    assert log.most == 1


def test_a_failure_blocks_only_what_is_downstream_of_it() -> None:
    log = Log()
    results = Scheduler(GRAPH, log.work(fail=frozenset({"b"})), _ok, _not_run, concurrency=2).run()
    assert results == {"a": "ok:a", "b": "fail:b", "c": "ok:c", "d": "blocked:d<b",
                       "e": "ok:e"}
    assert "d" not in log.started


def test_upstreams_outside_the_graph_count_as_done() -> None:
    results = Scheduler({"b": ["a"]}, Log().work(), _ok, _not_run).run()
    assert results == {"b": "ok:b"}


def test_on_done_sees_each_success_before_its_downstream_starts() -> None:
    seen: list[str] = []
    log = Log()

    def work(node: str) -> str:
        assert all(u in seen for u in GRAPH[node]), node
        return log.work()(node)

    Scheduler(GRAPH, work, _ok, _not_run, on_done=lambda n, r: seen.append(n)).run()
    assert sorted(seen) == sorted(GRAPH)


def test_stopped_nodes_do_not_start() -> None:
    log = Log()
    results = Scheduler(GRAPH, log.work(), _ok, _not_run,
                        stopped=lambda node: node in {"c", "e"}).run()
    assert results["c"] == "stopped:c" and results["e"] == "stopped:e"
    assert results["d"] == "blocked:d<c"
    assert set(log.started) == {"a", "b"}


def test_fail_fast_stops_the_failed_group_only() -> None:
    graph = {("x", "1"): [], ("x", "2"): [], ("y", "1"): [], ("y", "2"): []}
    calls: list[tuple[str, str]] = []

    def work(node: tuple[str, str]) -> str:
        calls.append(node)
        return "fail" if node == ("x", "1") else "ok:"

    results = Scheduler(graph, work, _ok, lambda n, why: why.skip.value, concurrency=1,
                        fail_fast=lambda node: node[0]).run()
    assert results == {("x", "1"): "fail", ("x", "2"): "stopped", ("y", "1"): "ok:",
                       ("y", "2"): "ok:"}


def _interrupting_wait(times: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C lands in the scheduler's wait ``times`` times in a row."""
    real = scheduler.wait
    left = {"n": times}

    def wait(*args: Any, **kwargs: Any) -> Any:
        if left["n"] > 0:
            left["n"] -= 1
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(scheduler, "wait", wait)


def test_ctrl_c_lets_running_work_finish_and_starts_nothing_new(
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = Log()
    said: list[str] = []
    stop = threading.Event()
    _interrupting_wait(1, monkeypatch)
    results = Scheduler(GRAPH, log.work(), _ok, _not_run, concurrency=4,
                        on_stop=stop.set, say=said.append).run()
    # a and e were running when Ctrl-C landed: they finish; nothing else starts
    assert results == {"a": "ok:a", "b": "never_started:b", "c": "never_started:c",
                       "d": "never_started:d", "e": "ok:e"}
    assert sorted(log.started) == ["a", "e"]
    assert stop.is_set()
    assert said == ["interrupted: no new stack starts; finishing what runs "
                    "(Ctrl-C again to stop waiting)"]


def test_second_ctrl_c_stops_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first Ctrl-C lands in the scheduling wait, the second while it waits for the
    running work: the work is told to give up (on_abandon) and what returns counts."""
    gave_up = threading.Event()
    said: list[str] = []

    def work(node: str) -> str:
        if node == "slow":  # told to give up, or it would have finished on its own
            return f"gave up:{node}" if gave_up.wait(10) else f"finished:{node}"
        return f"ok:{node}"

    _interrupting_wait(2, monkeypatch)
    results = Scheduler({"slow": [], "after": ["slow"]}, work, _ok, _not_run,
                        on_abandon=gave_up.set, say=said.append).run()
    assert results == {"slow": "gave up:slow", "after": "never_started:after"}
    assert said[-1] == "interrupted again: no longer waiting for CloudFormation"


def test_impatient_ctrl_c_abandons_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    gave_up = threading.Event()

    def work(node: str) -> str:
        gave_up.wait(10)
        return "interrupted" if gave_up.is_set() else "ok:"

    _interrupting_wait(1, monkeypatch)
    start = time.monotonic()
    results = Scheduler({"a": [], "b": ["a"]}, work, _ok, _not_run, concurrency=1,
                        on_abandon=gave_up.set, patient=False).run()
    assert time.monotonic() - start < 5
    assert results == {"a": "interrupted", "b": "never_started:b"}


def test_a_cycle_is_a_bug_not_a_hang() -> None:
    with pytest.raises(AssertionError, match="schedule stuck"):
        Scheduler({"a": ["b"], "b": ["a"]}, Log().work(), _ok, _not_run).run()


def test_skip_reasons_are_distinct() -> None:
    assert len({s.value for s in Skip}) == len(Skip)


class FakeEnv:
    """What the multi-env run asks of each env's deployer, without AWS."""

    def __init__(self, fail: frozenset[str] = frozenset()) -> None:
        self.stop = threading.Event()
        self.interrupted = threading.Event()  # Ctrl-C, as the deployer tells it from a lost lock
        self.fail = fail
        self.outputs: dict[str, str] = {}

    def upstream(self) -> dict[str, list[str]]:
        return dict(GRAPH)

    def work(self, stack: str) -> Any:
        from generator.aws.status import StackResult

        time.sleep(0.01)
        return StackResult(stack, stack, "FAILED" if stack in self.fail else "CREATED")

    def done(self, stack: str, result: Any) -> None:
        self.outputs[stack] = result.state

    def not_run(self, stack: str, why: NotRun[str]) -> Any:
        from generator.aws.status import StackResult

        return StackResult(stack, stack, "BLOCKED" if why.skip is Skip.BLOCKED else
                           "INTERRUPTED", reasons=[f"upstream {why.cause}"])


def test_several_envs_one_schedule_a_failure_blocks_only_its_env() -> None:
    from generator.deploy.engine import run_together

    envs = {"blue": FakeEnv(), "green": FakeEnv(fail=frozenset({"b"}))}
    ran = run_together(envs, 2, lambda: None, None)  # type: ignore[arg-type]
    assert {s: r.state for (e, s), r in ran.items() if e == "blue"} == \
        dict.fromkeys(GRAPH, "CREATED")
    green = {s: r for (e, s), r in ran.items() if e == "green"}
    assert green["b"].state == "FAILED" and green["d"].state == "BLOCKED"
    assert green["d"].reasons == ["upstream b"]  # the cause named as the env's stack
    assert {green[s].state for s in ("a", "c", "e")} == {"CREATED"}
    assert set(envs["blue"].outputs) == set(GRAPH) and "b" not in envs["green"].outputs


def test_several_envs_ctrl_c_stops_every_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.deploy.engine import run_together

    envs = {"blue": FakeEnv(), "green": FakeEnv()}
    _interrupting_wait(1, monkeypatch)
    ran = run_together(envs, 1, lambda: None, None)  # type: ignore[arg-type]
    assert all(e.stop.is_set() and e.interrupted.is_set() for e in envs.values())
    assert {r.state for (_, s), r in ran.items() if s == "d"} == {"INTERRUPTED"}
