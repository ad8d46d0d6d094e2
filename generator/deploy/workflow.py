"""What each AWS-facing command does, start to finish, on a list of units.

A command renders (and so validates) every unit first, asks for the means to confirm,
then opens the units (generator/deploy/connect.py) and calls one function here. One env
is a list of one: there is no second path for several envs or targets. Nothing in this
module parses arguments or picks exit codes.

deploy = plan → approve (once per run, or --yes) → run that plan; apply = load → verify
→ run. Either run is one scheduler over every unit's (unit, stack) nodes, each unit
under its own lock, a failure blocking only that unit's downstream stacks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn, TypeVar

import msgspec

from generator.aws.cfn_types import StackInfo
from generator.aws.polling import WaitAbandoned, Waits, minutes
from generator.aws.status import Outcome, PlanState, StackResult, StackStatus
from generator.deploy.connect import (
    Connection,
    all_locked,
    artifacts,
    upload_children,
)
from generator.deploy.delete import DeletePlan, Deleter
from generator.deploy.scheduler import NotRun, Scheduler
from generator.deploy.units import target_overrides
from generator.errors import StackgenError, UsageError
from generator.render import artifact_prefix
from generator.review.plan import ForecastNote, Plan
from generator.ui import Confirm, Console, EnvConsole, Progress

if TYPE_CHECKING:
    from generator.deploy.engine import Deployer
    from generator.deploy.planner import Planner
    from generator.deploy.stack_work import DeployOptions
    from generator.ecs.deploy_hooks import EcsHooks

T = TypeVar("T")
Results = dict[str, list[StackResult]]  # by unit label, each in its graph's order


def each(conns: Sequence[Connection], work: Callable[[Connection], T]) -> dict[str, T]:
    """``work`` for every unit, side by side (one node per unit); by unit label."""
    by_label = {c.label: c for c in conns}
    if len(by_label) == 1:
        return {c.label: work(c) for c in conns}
    scheduler = Scheduler({c: [] for c in by_label}, lambda label: work(by_label[label]),
                          ok=lambda _: True, not_run=_never, concurrency=len(by_label))
    done = scheduler.run()
    if scheduler.interrupted:  # Ctrl-C: the units' work ended, the command does not go on
        raise KeyboardInterrupt
    return {label: done[label] for label in by_label}  # in the units' order


def _never(label: str, why: NotRun[str]) -> NoReturn:
    """A unit's work that did not run: Ctrl-C stopped the run before it started."""
    raise KeyboardInterrupt


def _base(conns: Sequence[Connection]) -> Console | None:
    console = conns[0].console if conns else None
    return console.base if isinstance(console, EnvConsole) else console


def _abandon_all(conns: Sequence[Connection]) -> Callable[[], None]:
    """Ctrl-C (the second in a deploy, the first in a delete): every wait gives up."""
    def abandon() -> None:
        for c in conns:
            c.interrupted.set()
            c.aws.cfn.abandon.set()
    return abandon


def settle(conns: Sequence[Connection]) -> dict[str, dict[str, StackInfo]]:
    """Under the lock, before anything is planned or deleted: wait for the stacks an
    earlier run left in progress (a run killed mid-create, whose lock this run took
    over), each within its deadline and showing progress, so the run goes on from
    where they end (CloudFormation refuses a change set or a delete meanwhile).
    Several units and stacks wait side by side; Ctrl-C stops waiting (exit 130).
    Returns each unit's deployed stacks by name as listed when none was in progress (a
    delete plans on that listing, and a deploy --yes starts on it, instead of making it
    again); empty after a wait."""
    listed = {c.label: _deployed(c) for c in conns}
    busy = {(c.label, stack): (c, info) for c in conns
            for stack, info in _in_progress(c, listed[c.label]).items()}
    if not busy:
        return listed

    def wait(node: tuple[str, str]) -> None:
        conn, info = busy[node]
        _wait_for(conn, node[1], info)

    scheduler = Scheduler({n: [] for n in busy}, wait, ok=lambda _: True,
                          not_run=lambda node, why: None, concurrency=len(busy),
                          on_abandon=_abandon_all(conns), patient=False)
    scheduler.run()
    if scheduler.interrupted:
        raise KeyboardInterrupt
    return {}


def _deployed(conn: Connection) -> dict[str, StackInfo]:
    """The unit's stacks (or the nested root) deployed now, by stack name."""
    return conn.aws.cfn.describe_many(
        [conn.form.stacks[s].stack_name for s in conn.form.graph.order])


def _in_progress(conn: Connection, live: dict[str, StackInfo]) -> dict[str, StackInfo]:
    """The unit's stacks (or the nested root) that an operation holds now: a review
    shell (REVIEW_IN_PROGRESS) is not one, the run deletes it."""
    names = {s: conn.form.stacks[s].stack_name for s in conn.form.graph.order}
    return {s: live[n] for s, n in names.items()
            if n in live and live[n].status.in_progress() and not live[n].status.empty_shell()}


def _wait_for(conn: Connection, stack: str, info: StackInfo) -> None:
    cfn, console = conn.aws.cfn, conn.console
    children = [c.template for c in conn.rendered.stacks.values()] if conn.nested else None
    deadline = cfn.waits.for_stack(conn.form.stacks[stack].template, children)
    console.line(f"{console.status(info.status)} {stack}: {info.name} is {info.status}, left "
                 f"by an earlier run; waiting for it (deadline {minutes(deadline)})")
    progress = Progress(console, stack, cfn.waits.progress_every, deadline)

    def tick(current: StackInfo | None, elapsed: float) -> None:
        if current is not None:
            progress.tick(current.status, elapsed)

    try:  # by id: a stack whose delete ends is no longer found by name
        final = cfn.wait_stack(info.stack_id, on_poll=tick, deleting=True, deadline=deadline,
                               label=info.name)
    except WaitAbandoned:  # Ctrl-C: settle() says so
        return
    now = final.status if final is not None else StackStatus.DELETE_COMPLETE
    console.line(f"{console.status(now)} {stack}: {info.name} is {now}; going on")


def _prepared(conn: Connection, options: DeployOptions, waits: Waits | None,
              starts_certificate: bool, live: Mapping[str, StackInfo] | None = None
              ) -> tuple[DeployOptions, EcsHooks | None]:
    """Read-only checks and the run's settings of one unit: its options with its hooks."""
    from generator.deploy.preflight import check_zone
    from generator.ecs.deploy_hooks import hooks_for
    check_zone(conn, starts_certificate, live)
    if waits is not None:
        conn.aws.cfn.waits = waits
    hooks = hooks_for(conn.form, conn.aws, conn.console)
    return msgspec.structs.replace(options, hooks=hooks), hooks


def _run(conns: Sequence[Connection], workers: Mapping[str, Deployer], concurrency: int,
         hooks: Mapping[str, EcsHooks | None],
         settled: Mapping[str, dict[str, StackInfo]] | None = None) -> Results:
    """Every unit's graph on one scheduler, then each unit's verification. ``settled``:
    each unit's stacks as settle() listed them under the lock, when nothing ran since."""
    from generator.deploy.engine import run_together
    by_cfn: dict[int, list[str]] = {}
    for label, d in workers.items():  # one listing of the stacks per session, not per unit
        by_cfn.setdefault(id(d.cfn), []).append(label)
    for labels in by_cfn.values():
        if settled is not None and all(label in settled for label in labels):
            listed = {n: i for label in labels for n, i in settled[label].items()}
        else:
            listed = workers[labels[0]].cfn.describe_many(
                [n for label in labels for n in workers[label].stack_names()])
        for label in labels:
            workers[label].start(known=listed)
    base = _base(conns)
    ran = run_together(workers, concurrency, _abandon_all(conns),
                       base.line if base is not None else None)
    out = {}
    for c in conns:
        worker = workers[c.label]
        if worker.interrupted.is_set():
            c.interrupted.set()
        results = worker.finish([r for (n, _), r in ran.items() if n == c.label])
        out[c.label] = results + verified(c, hooks[c.label], results)
    return out


def deploy(conns: Sequence[Connection], confirm: Confirm, stacks: Sequence[str], force: bool,
           concurrency: int, allow_replace: Sequence[str], ask_once: bool = False,
           waits: Waits | None = None, approve_broadening: bool = True,
           import_existing: bool = False, revert_drift: bool = False) -> Results:
    """``ask_once`` (a person at a terminal): plan every unit up front, ask once for all,
    then run that plan, asking again only for what goes beyond it. Without it (--yes)
    each stack's change set is made and executed in turn. Without
    ``approve_broadening`` an update that broadens access is refused. A unit whose
    resources moved between its stacks is refactored first (after its own yes)."""
    from generator.deploy.engine import Deployer
    from generator.deploy.preflight import CERT_STACK, listed, refuse_other_form
    from generator.deploy.refactor_env import detected, refactor
    from generator.deploy.runner import ApprovedRunner
    from generator.review.plan_report import show_plan
    from generator.review.revert import refuse_nested
    from generator.review.validation import refuse_blocked
    if stacks and any(c.nested for c in conns):
        raise UsageError("--stack and --nested do not mix: the nested form is one stack")
    for c in conns:
        refuse_nested(revert_drift, c.nested)
    found = listed(conns)  # before the lock: what the checks below read
    refuse_other_form(conns, "deploy", found)
    # --revert-drift: a stack whose template did not change may still have drifted.
    prepared = {c.label: _prepared(c, c.options(
        stacks=frozenset(stacks), force=force or revert_drift, concurrency=concurrency,
        allow_replace=frozenset(allow_replace), approve_broadening=approve_broadening,
        import_existing=import_existing, revert_drift=revert_drift),
        waits, starts_certificate=c.nested or not stacks or CERT_STACK in stacks,
        live=found[c.label]) for c in conns}
    for c in conns:
        if not c.nested and not stacks and any(
                m.by == "id" for m in detected(c, found[c.label])[2]):
            refactor(c, confirm)  # moved resources: a stack refactor before any change set
    options = {label: o for label, (o, _) in prepared.items()}
    stops = {c.label: threading.Event() for c in conns}  # a lost lock stops its unit
    prompt = threading.Lock()  # one question at a time, whichever unit asks
    reason = "deploy" + (f" --stack {','.join(stacks)}" if stacks else "")
    with all_locked(conns, reason, stops):
        settled: dict[str, dict[str, StackInfo]] | None = settle(conns)
        workers: dict[str, Deployer] = {}
        if ask_once:
            planners = {c.label: _whole_planner(c, options[c.label]) for c in conns}
            try:
                plans = each(conns, lambda c: planners[c.label].plan())
                for c in conns:
                    if len(conns) > 1:
                        _base_line(c, c.console.style(f"== env {c.label} ==", bold=True))
                    show_plan(c.console, plans[c.label], diff=False)
                for p in plans.values():
                    refuse_blocked(p)
                changing = {c.label: [s.stack for s in plans[c.label].stacks if s.changes]
                            for c in conns}
                approved = not any(changing.values()) or confirm(_question(changing, conns))
            except BaseException:
                # A refusal, a failure, Ctrl-C while planning or at the question: the
                # change sets made for the review (and review shells) go, none stays.
                for planner in planners.values():
                    planner.discard_pending()
                raise
            if not approved:
                stays = [n for planner in planners.values() for n in planner.discard_pending()]
                _base_line(conns[0], "the change sets made for the review were deleted"
                           if not stays else f"the change sets of {', '.join(stays)} stay")
                return {label: [StackResult(s.stack, s.stack_name, Outcome.DECLINED
                                            if s.changes else Outcome.UNCHANGED,
                                            reasons=["not approved"] if s.changes else [])
                                for s in p.stacks] for label, p in plans.items()}
            settled = None  # planning made change sets (and review shells): list again
            for c in conns:
                planned = {s.stack: s for s in plans[c.label].stacks}
                workers[c.label] = ApprovedRunner(
                    c.form, c.aws.cfn, c.lookups, c.console, confirm,
                    msgspec.structs.replace(options[c.label], planned=planned))
        else:
            workers = {c.label: Deployer(c.form, c.aws.cfn, c.lookups, c.console, confirm,
                                         options[c.label]) for c in conns}
        for label, w in workers.items():
            w.stop, w.prompt = stops[label], prompt
        return _run(conns, workers, concurrency,
                    {label: h for label, (_, h) in prepared.items()}, settled)


def _base_line(conn: Connection, text: str) -> None:
    console = conn.console
    (console.base if isinstance(console, EnvConsole) else console).line(text)


def _whole_planner(conn: Connection, options: DeployOptions) -> Planner:
    """What makes the plan `deploy` approves: it re-creates a stack whose create failed,
    and plans only stacks whose unselected upstreams are deployed."""
    from generator.deploy.planner import Planner
    planner = Planner(conn.form, conn.aws.cfn, conn.lookups, conn.console, lambda q: False,
                      options)
    planner.require_upstream = planner.recreate_failed = True
    return planner


def _question(changing: Mapping[str, list[str]], conns: Sequence[Connection]) -> str:
    if len(conns) == 1:
        label = conns[0].label
        return f"execute the changes to {', '.join(changing[label])} (env '{label}')?"
    what = "; ".join(f"{label}: {', '.join(stacks)}" for label, stacks in changing.items()
                     if stacks)
    return f"execute the changes to {what}?"


def verified(conn: Connection, hooks: EcsHooks | None,
             results: list[StackResult]) -> list[StackResult]:
    """Deploy ends when the service is steady (and answers its probe): a result row
    "verify" when that fails; what was checked goes to the console."""
    ecs = next((r for r in results if r.stack == "ecs"), None)
    if hooks is None or ecs is None or not all(r.ok for r in results):
        return []
    try:
        checked = hooks.verify()
    except StackgenError as exc:
        return [StackResult("verify", ecs.stack_name, Outcome.FAILED, reasons=[str(exc)])]
    for line in checked.checks:
        conn.console.line(f"verified: {line}")
    for line in checked.notes:
        conn.console.line(f"verify: {line}")
    return []


def plan_place(conn: Connection) -> tuple[str, str, str]:
    """Account, region and endpoint URL the unit's change sets live in."""
    meta = conn.aws.cfn.client.meta
    return conn.aws.account, str(meta.region_name), str(meta.endpoint_url)


def plan(conns: Sequence[Connection], stacks: Sequence[str], overrides: Sequence[str],
         drift: bool = True, import_existing: bool = False,
         revert_drift: bool = False) -> dict[str, Plan]:
    """Plan every unit side by side; by unit label."""
    from generator.deploy.planner import Planner
    from generator.deploy.preflight import listed, refuse_other_form
    from generator.deploy.refactor_env import detected
    from generator.review.revert import refuse_nested
    for c in conns:
        refuse_nested(revert_drift, c.nested)
    found = listed(conns)
    refuse_other_form(conns, "plan", found)

    planners = {c.label: Planner(c.form, c.aws.cfn, c.lookups, c.console,
                                 lambda question: False,
                                 c.options(stacks=frozenset(stacks), drift=drift,
                                           force=revert_drift, import_existing=import_existing,
                                           revert_drift=revert_drift)) for c in conns}

    def one(conn: Connection) -> Plan:
        result = planners[conn.label].plan()
        if not conn.nested:  # what `deploy` (or `stackgen refactor`) moves first
            # A review shell the plan made is no deployed stack, as the listing says.
            result.moves = [m.line() for m in detected(conn, found[conn.label])[2]]
        # Recorded so `apply` renders the same templates in the same form, at the same
        # place: a target's account and region are --set values of its rendering.
        target = conn.unit.target
        result.overrides = [*overrides, *(target_overrides(target) if target else ())]
        result.nested = conn.nested
        result.account, result.region, result.endpoint = plan_place(conn)
        if conn.forecast is not None:
            result.forecast = [ForecastNote(id=f.check_id, severity=f.severity, stack=f.stack,
                                            resource=f.resource, message=f.message, fix=f.fix)
                               for f in conn.forecast.findings]
        return result

    try:
        return each(conns, one)
    except BaseException:  # a failure or Ctrl-C half-way: no change set of it stays
        for planner in planners.values():
            planner.discard_pending()
        raise


def discard_plans(conns: Sequence[Connection], plans: Mapping[str, Plan]) -> None:
    """The plans are not kept (their file could not be written): delete their change
    sets, and the review shells of new stacks, so none stays AVAILABLE with no plan
    that names it; best effort, saying what stays."""
    for c in conns:
        plan = plans.get(c.label)
        for s in plan.stacks if plan is not None else []:
            if not s.change_set_id:
                continue
            try:
                c.aws.cfn.delete_change_set(s.change_set_id)
                if s.state == PlanState.CREATE:
                    c.aws.cfn.delete_stack(s.stack_name)
            except StackgenError as exc:
                c.console.line(f"{s.stack}: change set {s.change_set_id} stays ({exc})")


def apply(conn: Connection, confirm: Confirm, saved: Plan,
          allow_replace: Sequence[str], waits: Waits | None = None,
          approve_broadening: bool = True) -> list[StackResult]:
    """Execute the plan's change sets and nothing else; refuse, before executing anything,
    a plan for another place or one whose stacks moved since."""
    from generator.deploy.preflight import CERT_STACK
    from generator.deploy.runner import PlanRunner, check_plan_place
    from generator.review.plan_report import show_plan
    from generator.review.validation import refuse_blocked
    check_plan_place(saved, conn.rendered.env.name, *plan_place(conn))
    refuse_blocked(saved)
    if any(m.startswith("move ") for m in saved.moves):
        raise StackgenError("the plan moves resources between stacks ("
                            + "; ".join(saved.moves) + "): run `stackgen refactor --env "
                            f"{saved.env}` (or deploy), then plan again")
    if conn.nested:
        upload_children(conn)  # content-addressed: the planned children, unchanged
    planned = {s.stack: s for s in saved.stacks}
    options, hooks = _prepared(conn, conn.options(
        stacks=frozenset(planned), allow_replace=frozenset(allow_replace), planned=planned,
        approve_broadening=approve_broadening), waits,
        starts_certificate=conn.nested or CERT_STACK in planned)
    runner = PlanRunner(conn.form, conn.aws.cfn, conn.lookups, conn.console, confirm, options)
    with all_locked([conn], "apply", {conn.label: runner.stop}):
        refused = runner.verify()
        if refused:
            conn.console.line(runner.refusal(refused))
            return refused
        changing = [s.stack for s in saved.stacks if s.changes]
        show_plan(conn.console, saved, diff=False)
        if changing and not confirm(f"execute the plan's changes to {', '.join(changing)}?"):
            return [StackResult(s.stack, s.stack_name,
                                Outcome.DECLINED if s.changes else Outcome.UNCHANGED,
                                reasons=["not approved"] if s.changes else [])
                    for s in saved.stacks]
        results = runner.run()
    if runner.interrupted.is_set():
        conn.interrupted.set()
    return results + verified(conn, hooks, results)


# Stacks of one unit deleted at once: independent ones (no doomed stack reads another)
# go side by side, as a deploy's do.
DELETE_CONCURRENCY = 4


def delete(conns: Sequence[Connection], confirm: Confirm, stacks: Sequence[str], yes: bool,
           purge_artifacts: bool = False, waits: Waits | None = None) -> Results:
    """Every unit's refusals before anything goes; one question for all; then every unit
    over its reverse graph (a stack goes after the stacks that read it), units and
    independent stacks side by side; a unit's first failure stops that unit. With
    ``purge_artifacts``, a unit deleted whole loses its uploaded child templates too."""
    deleters: dict[str, Deleter] = {}
    plans: dict[str, DeletePlan] = {}
    for c in conns:
        if waits is not None:
            c.aws.cfn.waits = waits
        deleters[c.label] = Deleter(c.form, c.aws.cfn, c.console, confirm,
                                    children=c.rendered if c.nested else None)
    reason = "delete" + (f" --stack {','.join(stacks)}" if stacks else "")
    # The bucket's settings are deploy's to check: a delete writes only its lock there.
    with all_locked(conns, reason, {}, check_bucket=False):
        listed = settle(conns)
        for label, d in deleters.items():
            plans[label] = d.plan(frozenset(stacks), listed.get(label))
        doomed = sum(len(p.stacks) for p in plans.values())
        for label, d in deleters.items():
            d.announce(plans[label])
        question = f"delete {doomed} stacks?" if len(conns) == 1 else \
            f"delete {doomed} stacks of {len(conns)} envs?"
        if doomed and not yes and not confirm(question):
            _base_line(conns[0], "nothing changed: the delete was not approved")
            return {c.label: [] for c in conns}
        upstream = {(label, s): [(label, u) for u in ups]
                    for label, d in deleters.items() for s, ups in d.upstream(plans[label]).items()}
        works = {label: d.work(plans[label]) for label, d in deleters.items()}
        ran = Scheduler(
            upstream=upstream, work=lambda node: works[node[0]](node[1]),
            ok=lambda r: r is not None and r.ok,
            not_run=lambda node, why: deleters[node[0]].not_run(
                node[1], NotRun(why.skip, why.cause[1] if why.cause else None)),
            concurrency=DELETE_CONCURRENCY * len(conns), fail_fast=lambda node: node[0],
            on_abandon=_abandon_all(conns), patient=False).run()
    out: Results = {}
    for c in conns:
        d = deleters[c.label]
        results = [r for (n, _), r in ran.items() if n == c.label and r is not None]
        if any(r.state in (Outcome.TIMED_OUT, Outcome.INTERRUPTED) for r in results):
            d.where([s for s, _ in plans[c.label].stacks])
        out[c.label] = results
        if purge_artifacts and all(r.ok for r in results):
            _purge(c)
    return out


def _purge(conn: Connection) -> None:
    try:
        purged = artifacts(conn).purge(artifact_prefix(conn.rendered.names))
    except Exception as exc:  # a bucket that never existed has nothing to purge
        conn.console.line(f"artifacts: nothing purged ({exc})")
    else:
        conn.console.line(f"artifacts: deleted {purged} object versions of env "
                          f"'{conn.rendered.env.name}'")
