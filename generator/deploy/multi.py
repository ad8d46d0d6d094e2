"""Many envs from one run (issue 16): `deploy|plan|delete --env a --env b` or `--all-envs`.

Every env is rendered, linted and checked by the CLI before this module makes its
first AWS call. Envs that reach the same target (where their calls go, and the
region) share one session, its account check and its clients: start-up is paid once,
not once per env. Each env keeps its own lock, its own outputs and its own lookups.
One scheduler runs every env's graph, its nodes (env, stack): a failure blocks only
that env's downstream stacks. One summary: an env x stack matrix.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from generator.aws import RETRY_CONFIG
from generator.deploy.cfn import Event, Waits
from generator.deploy.delete import DeletePlan, Deleter
from generator.deploy.engine import Confirm, Deployer, StackResult
from generator.deploy.preflight import CERT_STACK
from generator.deploy.resolve import Lookups
from generator.deploy.scheduler import NotRun, Scheduler
from generator.deploy.session import Aws, connect, resolve_target
from generator.deploy.status import Outcome
from generator.deploy.targets import connect_target, label, target_of
from generator.deploy.workflow import Connection, _upload_children, check_zone, locked, say_forecast, verified
from generator.ecs.deploy_hooks import hooks_for
from generator.errors import AccountMismatch, ConfirmationRequired
from generator.forecast.runner import Forecast
from generator.render import Rendered, nested_view
from generator.review.plan import Plan
from generator.ui import Console

Node = tuple[str, str]  # (env, stack)


@dataclass(frozen=True)
class SharedAws(Aws):
    """One session for the envs of one target: each client is made once (making clients
    from one session is not thread-safe, boto3 guide "Multithreading or multiprocessing
    with clients"; a made client is) and shared by every env and thread."""

    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.session.client(service, config=RETRY_CONFIG)
            return self._clients[service]


class EnvConsole(Console):
    """The run's console with each line said for its env."""

    def __init__(self, base: Console, env: str) -> None:
        super().__init__(base.color, base.err)
        self.lock = base.lock  # one lock: lines of several envs never interleave
        self.base = base
        self.env = env

    def line(self, text: str = "") -> None:
        self.base.line(f"[{self.env}] {text}" if text else text)

    def event(self, stack: str, event: Event) -> None:
        self.base.event(f"{self.env}/{stack}", event)


def unit_label(rendered: Rendered) -> str:
    """An env's name, or env@account/region for one of its targets."""
    target = target_of(rendered.env.config)
    return rendered.env.name if target is None else label(rendered.env.name, target)


def _label(env: Connection) -> str:
    return unit_label(env.rendered)


def open_envs(rendered: Sequence[Rendered], console: Console, nested: bool | None,
              upload: bool = True, forecast: str = "off") -> list[Connection]:
    """Connect once per target (checking every env's account against it), then open
    each env on that connection; the forecast ("gate" refuses its errors) runs for
    every env before any env uploads or changes anything."""
    sessions: dict[tuple[str | None, ...], SharedAws] = {}
    envs = []
    for r in rendered:
        cfg = r.env.config
        target = resolve_target(cfg)
        key: tuple[str | None, ...] = (cfg.region, target.label, target.endpoint_url)
        account = target_of(cfg)
        if account is not None:  # one of the env's targets: its own credentials
            key += (account.account, account.role_arn)
        if key not in sessions:
            aws = connect(cfg) if account is None else \
                connect_target(cfg, r.env.name, account)
            sessions[key] = SharedAws(aws.session, aws.cfn, aws.account, aws.target)
        aws = sessions[key]
        if cfg.account_id and aws.account != cfg.account_id:
            raise AccountMismatch(
                f"these credentials are for account {aws.account}, but env '{r.env.name}' "
                f"names account_id {cfg.account_id}; switch profile or fix account_id in "
                "its params")
        use_nested = cfg.nested if nested is None else nested
        bucket = None
        if use_nested:
            from generator.deploy.artifacts import bucket_name
            bucket = bucket_name(aws.account, cfg.region)
        envs.append(Connection(r, nested_view(r) if use_nested else r, aws,
                        EnvConsole(console, unit_label(r)),
                        Lookups(aws.client("route53"), bucket), use_nested))
    if forecast != "off":
        accounts: dict[int, Any] = {}
        envs = [replace(e, forecast=_forecast(e, accounts, refuse_errors=forecast == "gate"))
                for e in envs]
    if upload:
        for e in envs:
            if e.nested:
                _upload_children(e)
    return envs


def _forecast(env: Connection, accounts: dict[int, Any], refuse_errors: bool) -> Forecast:
    """`run_forecast` with one memo of account answers per shared session: envs of one
    target ask the same questions (instance types, AMI, quotas) once."""
    from generator.forecast.account import FORECAST_CONFIG, Account
    from generator.forecast.runner import ForecastFailed
    from generator.forecast.runner import forecast as run

    key = id(env.aws)
    if key not in accounts:
        session = env.aws.session
        accounts[key] = Account(lambda service: session.client(service, config=FORECAST_CONFIG),
                                env.aws.account)
    result = run(env.rendered, accounts[key])
    say_forecast(env.console, result)
    if refuse_errors and result.failing("error"):
        raise ForecastFailed(result)
    return result


def _abandon_all(envs: Sequence[Connection]) -> Callable[[], None]:
    def abandon() -> None:
        for e in envs:
            e.aws.cfn.abandon.set()
    return abandon


def deploy(envs: Sequence[Connection], confirm: Confirm, stacks: Sequence[str], force: bool,
           concurrency: int, allow_replace: Sequence[str], waits: Waits | None = None,
           approve_broadening: bool = True) -> dict[str, list[StackResult]]:
    """Every env's graph on one scheduler (``concurrency`` stacks per env at once);
    each env under its own lock. Results by env, each in its graph's order."""
    prompt = threading.Lock()  # one question at a time, whichever env asks
    deployers: dict[str, Deployer] = {}
    hooks = {}
    for e in envs:
        check_zone(e, starts_certificate=e.nested or not stacks or CERT_STACK in stacks)
        if waits is not None:
            e.aws.cfn.waits = waits
        hooks[_label(e)] = hooks_for(e.form, e.aws, e.console)
        options = e.options(stacks=frozenset(stacks), force=force, concurrency=concurrency,
                            allow_replace=frozenset(allow_replace),
                            approve_broadening=approve_broadening,
                            hooks=hooks[_label(e)])
        d = Deployer(e.form, e.aws.cfn, e.lookups, e.console, confirm, options)
        d._prompt = prompt
        deployers[_label(e)] = d
    reason = "deploy" + (f" --stack {','.join(stacks)}" if stacks else "")
    with _all_locked(envs, reason, {n: d.stop for n, d in deployers.items()}):
        # Every env's preflight before the first change; one listing of the stacks per
        # target, not one per env (each walks every stack of the account).
        by_cfn: dict[int, list[Deployer]] = {}
        for d in deployers.values():
            by_cfn.setdefault(id(d.cfn), []).append(d)
        for group in by_cfn.values():
            listed = group[0].cfn.describe_many([n for d in group for n in d.stack_names()])
            for d in group:
                d.start(known=listed)
        ran = schedule(deployers, concurrency, _abandon_all(envs),
                        envs[0].console if envs else None)
    out = {}
    for e in envs:
        name = _label(e)
        results = deployers[name].finish([r for (n, _), r in ran.items() if n == name])
        out[name] = results + verified(e, hooks[name], results)
    return out


def schedule(deployers: dict[str, Deployer], concurrency: int, abandon: Callable[[], None],
              console: Console | None) -> dict[Node, StackResult]:
    upstream = {(env, s): [(env, u) for u in ups]
                for env, d in deployers.items() for s, ups in d.upstream().items()}

    def not_run(node: Node, why: NotRun[Node]) -> StackResult:
        cause = why.cause[1] if why.cause is not None else None
        return deployers[node[0]].not_run(node[1], NotRun(why.skip, cause))

    def stop_all() -> None:
        for d in deployers.values():
            d.stop.set()

    def done(node: Node, result: StackResult) -> None:
        deployers[node[0]].done(node[1], result)

    base = console.base if isinstance(console, EnvConsole) else console
    return Scheduler(
        upstream=upstream, work=lambda node: deployers[node[0]].work(node[1]),
        ok=lambda r: r.ok, not_run=not_run,
        concurrency=max(1, concurrency) * max(1, len(deployers)),
        stopped=lambda node: deployers[node[0]].stop.is_set(), on_done=done,
        on_stop=stop_all, on_abandon=abandon,
        say=base.line if base is not None else lambda _: None).run()


@contextlib.contextmanager
def _all_locked(envs: Sequence[Connection], reason: str,
                stops: dict[str, threading.Event]) -> Iterator[None]:
    """Each env's own lock; a lost lock stops that env alone."""
    with contextlib.ExitStack() as held:
        for e in envs:
            held.enter_context(locked(e, reason, stops.get(_label(e))))
        yield


def plan(envs: Sequence[Connection], stacks: Sequence[str], overrides: Sequence[str],
         drift: bool = True) -> dict[str, Plan]:
    """Plan every env side by side (one node per env: planning an env is one pass)."""
    from generator.deploy import workflow

    by_name = {_label(e): e for e in envs}
    done = Scheduler({e: [] for e in by_name},
                     lambda env: workflow.plan(by_name[env], stacks, overrides, drift),
                     ok=lambda _: True, not_run=_never, concurrency=len(by_name)).run()
    return done


def _never(env: str, why: NotRun[str]) -> Plan:
    raise AssertionError(f"plan of {env} did not run ({why.skip.value})")


def delete(envs: Sequence[Connection], confirm: Confirm, stacks: Sequence[str], yes: bool,
           waits: Waits | None = None) -> dict[str, list[StackResult]]:
    """Every env's refusals before anything goes; one question for all; then every env
    over its reverse graph (a stack goes after the stacks that read it), envs and
    independent stacks side by side; an env's first failure stops that env."""
    deleters: dict[str, Deleter] = {}
    plans: dict[str, DeletePlan] = {}
    for e in envs:
        if waits is not None:
            e.aws.cfn.waits = waits
        name = _label(e)
        deleters[name] = Deleter(e.form, e.aws.cfn, e.console, confirm,
                                 children=e.rendered if e.nested else None)
    reason = "delete" + (f" --stack {','.join(stacks)}" if stacks else "")
    with _all_locked(envs, reason, {}):
        for name, d in deleters.items():
            plans[name] = d.plan(frozenset(stacks))
        doomed = sum(len(p.stacks) for p in plans.values())
        for name, d in deleters.items():
            d.announce(plans[name])
        if doomed and not yes and not confirm(
                f"delete {doomed} stacks of {len(envs)} envs?"):
            raise ConfirmationRequired("delete declined; nothing was deleted")
        upstream = {(env, s): [(env, u) for u in ups]
                    for env, d in deleters.items() for s, ups in d.upstream(plans[env]).items()}
        works = {env: d.work(plans[env]) for env, d in deleters.items()}
        ran = Scheduler(
            upstream=upstream, work=lambda node: works[node[0]](node[1]),
            ok=lambda r: r is not None and r.ok,
            not_run=lambda node, why: deleters[node[0]].not_run(
                node[1], NotRun(why.skip, why.cause[1] if why.cause else None)),
            concurrency=max(1, len(envs)), fail_fast=lambda node: node[0],
            on_abandon=_abandon_all(envs), patient=False).run()
    out: dict[str, list[StackResult]] = {}
    for env, d in deleters.items():
        results = [r for (n, _), r in ran.items() if n == env and r is not None]
        if any(r.state in (Outcome.TIMED_OUT, Outcome.INTERRUPTED) for r in results):
            d.where([s for s, _ in plans[env].stacks])
        out[env] = results
    return out
