"""Units opened for AWS: one session per target (shared by the units that reach it),
each unit's account checked, its forecast, its artifacts, its lock.

Every unit is rendered and checked by the CLI before this module makes its first AWS
call. Units that reach the same place (where their calls go, the region, the account
and role) share one session, its account check and its clients: start-up is paid once,
not once per env. Each unit keeps its own lock, outputs and lookups.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from generator.aws.accounts import connect_target
from generator.aws.polling import Waits
from generator.aws.session import Aws, SharedAws, connect, resolve_route
from generator.deploy.artifacts import Artifacts, bucket_name
from generator.deploy.lock import EnvLock, when
from generator.deploy.units import Unit
from generator.errors import AccountMismatch, StackgenError, UsageError
from generator.references import Lookups
from generator.render import Rendered, artifact_key, nested_view
from generator.ui import Console, EnvConsole

if TYPE_CHECKING:
    from generator.deploy.stack_work import DeployOptions
    from generator.forecast.result import Forecast


class Connection(msgspec.Struct, frozen=True):
    """A unit opened for AWS: the rendered stacks, and the form a command acts on."""

    unit: Unit
    form: Rendered  # the stacks, or the nested form's root
    aws: Aws
    console: Console
    lookups: Lookups
    nested: bool
    forecast: Forecast | None = None  # what the forecast found, when it ran
    # Set when Ctrl-C interrupted the unit's run: the command exits 130.
    interrupted: threading.Event = msgspec.field(default_factory=threading.Event)

    @property
    def rendered(self) -> Rendered:
        return self.unit.rendered

    @property
    def label(self) -> str:
        return self.unit.label

    @property
    def bucket(self) -> str:
        return bucket_name(self.aws.account, self.rendered.env.config.region)

    def options(self, **kwargs: Any) -> DeployOptions:
        # Imported here: delete, status and the rest never need the deploy's skeleton.
        from generator.deploy.stack_work import DeployOptions

        return DeployOptions(commit=git_commit(), nested=self.nested,
                             children=self.rendered if self.nested else None, **kwargs)


def lint_gate(rendered: Rendered, build_dir: Path, cache_dir: Path,
              stacks: Sequence[str] = ()) -> None:
    """Refuse to deploy templates with lint errors: better than failing half-way."""
    from generator.lint.engine import Linter, failing
    from generator.lint.targets import targets_for

    targets = [t for t in targets_for(rendered, build_dir)
               if t.stack in rendered.stacks and (not stacks or t.stack in stacks)]
    errors = failing(Linter(cache_dir).lint(targets), "error")
    if errors:
        first = errors[0]
        raise StackgenError(
            f"lint found {len(errors)} error(s), first {first.stack}: {first.rule_id} "
            f"{first.message}; see `stackgen lint --env {rendered.env.name}` (--no-lint skips)")


def ensure_ecs_service_linked_role(aws: Aws, console: Console) -> bool:
    """Create the ECS service-linked role when the account lacks it (the user asked:
    --create-service-linked-role). The first CreateCluster of an account can fail while
    ECS makes the role itself (cloudformation-coverage-roadmap#818; ECS developer guide,
    "Using service-linked roles for Amazon ECS": iam:CreateServiceLinkedRole with
    ecs.amazonaws.com). True when it was created now."""
    from botocore.exceptions import ClientError

    from generator.forecast.checks.service_linked_role import (
        ECS_SERVICE,
        ECS_SERVICE_LINKED_ROLE,
    )

    iam = aws.client("iam")
    try:
        iam.get_role(RoleName=ECS_SERVICE_LINKED_ROLE)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise StackgenError(f"iam GetRole {ECS_SERVICE_LINKED_ROLE}: {exc}") from None
    try:
        iam.create_service_linked_role(AWSServiceName=ECS_SERVICE)
    except ClientError as exc:
        raise StackgenError(f"iam CreateServiceLinkedRole {ECS_SERVICE}: {exc}; run it with "
                            "credentials allowed iam:CreateServiceLinkedRole") from None
    console.line(f"created the ECS service-linked role {ECS_SERVICE_LINKED_ROLE}")
    return True


def open_units(units: Sequence[Unit], console: Console, nested: bool | None,
               upload: bool = True, forecast: str = "off",
               create_service_linked_role: bool = False,
               forecast_cache: Path | None = None) -> list[Connection]:
    """Connect once per target (checking every unit's account against it), then open
    each unit on that connection. ``forecast``: "record" runs `stackgen forecast` on each,
    "gate" also refuses its errors; it runs for every unit before any unit uploads or
    changes anything. The nested form's child templates then go to the artifacts bucket
    under content-addressed keys. Several units: each line says its unit.
    ``forecast_cache``: where a unit's clean forecast is kept and reused while its inputs
    stay (generator/forecast/cache.py)."""
    sessions: dict[tuple[str | None, ...], SharedAws] = {}
    opened = []
    for unit in units:
        cfg = unit.rendered.env.config
        route = resolve_route(cfg)
        key: tuple[str | None, ...] = (cfg.region, route.label, route.endpoint_url)
        if unit.target is not None:  # one of the env's targets: its own credentials
            key += (unit.target.account, unit.target.role_arn)
        if key not in sessions:
            aws = connect(cfg) if unit.target is None else \
                connect_target(cfg, unit.env, unit.target)
            sessions[key] = SharedAws(aws.session, aws.cfn, aws.account, aws.route)
            if create_service_linked_role:  # before the forecast, which checks for it (F407)
                ensure_ecs_service_linked_role(sessions[key], console)
        aws = sessions[key]
        if cfg.account_id and aws.account != cfg.account_id:
            raise AccountMismatch(
                f"these credentials are for account {aws.account}, but env '{unit.env}' "
                f"names account_id {cfg.account_id}; switch profile or fix account_id in "
                "its params")
        use_nested = cfg.nested if nested is None else nested
        bucket = bucket_name(aws.account, cfg.region) if use_nested else None
        opened.append(Connection(
            unit, nested_view(unit.rendered) if use_nested else unit.rendered, aws,
            EnvConsole(console, unit.label) if len(units) > 1 else console,
            Lookups(None, bucket, aws.client), use_nested))
    if forecast != "off":
        accounts: dict[int, Any] = {}
        opened = [msgspec.structs.replace(c, forecast=run_forecast(c, accounts, forecast == "gate",
                                                   forecast_cache))
                  for c in opened]
    if upload:
        for c in opened:
            if c.nested:
                upload_children(c)
    return opened


def run_forecast(conn: Connection, accounts: dict[int, Any], refuse_errors: bool,
                 cache_dir: Path | None = None) -> Forecast:
    """The forecast's account checks through the unit's session (no second STS call),
    with one memo of account answers per shared session: units of one target ask the
    same questions (instance types, AMI, quotas) once. Only errors refuse: what an
    endpoint cannot answer is info, an unreached registry a warning. With ``cache_dir``,
    a clean result is reused while nothing it read has changed (and its account answers
    are younger than the cache's TTL): no client is made, no call."""
    from generator.forecast.cache import ForecastCache, inputs_digest

    cache = ForecastCache(cache_dir) if cache_dir is not None else None
    key = inputs_digest(conn.rendered, (conn.aws.account, conn.rendered.env.config.region,
                                        conn.aws.route.label), {}) if cache else ""
    result = cache.get(conn.label, key) if cache else None
    if result is None:
        result = fresh_forecast(conn, accounts)
        if cache:
            cache.put(conn.label, key, result)
    say_forecast(conn.console, result)
    if refuse_errors and result.failing("error"):
        from generator.forecast.result import ForecastFailed

        raise ForecastFailed(result)
    return result


def fresh_forecast(conn: Connection, accounts: dict[int, Any]) -> Forecast:
    from generator.forecast.account import FORECAST_CONFIG, Account
    from generator.forecast.runner import forecast

    key = id(conn.aws)
    if key not in accounts:
        session = conn.aws.session
        accounts[key] = Account(lambda service: session.client(service, config=FORECAST_CONFIG),
                                conn.aws.account)
    return forecast(conn.rendered, accounts[key])


def say_forecast(console: Console, result: Forecast) -> None:
    """The counts, then each error and warning with its fix: a count alone ("1 warnings")
    leaves the reader to run `stackgen forecast` to learn what it was. Info (what the
    endpoint cannot answer) stays a count; `stackgen forecast` shows it."""
    counts = (f"{result.count('error')} errors, {result.count('warning')} warnings, "
              f"{result.count('info')} info")
    if result.cached_at is not None:
        since = datetime.fromtimestamp(result.cached_at).strftime("%H:%M:%S")
        console.line(f"forecast: unchanged since {since} ({counts}; {len(result.checks)} "
                     "checks not run again: same templates, parameters, config and account)")
    else:
        console.line(f"forecast: {counts} ({len(result.checks)} checks, "
                     f"{result.api_calls} API calls, {result.seconds:.2f} s)")
    for f in result.failing("warning"):
        colour = "red" if f.severity == "error" else "yellow"
        console.line(f"  {f.check_id} {console.style(f.severity, colour)} "
                     f"{f.stack}/{f.resource}: {f.message}; fix: {f.fix}")


def artifacts(conn: Connection) -> Artifacts:
    return Artifacts(conn.aws.client("s3"), conn.bucket, conn.rendered.env.config.region,
                     conn.aws.account)


def upload_children(conn: Connection) -> None:
    """The nested form's children in the artifacts bucket, content-addressed."""
    store = artifacts(conn)
    if store.ensure_bucket():
        conn.console.line(f"created artifacts bucket {conn.bucket} (encrypted, versioned, "
                          "private)")
    elif store.fixed:
        conn.console.line(f"artifacts bucket {conn.bucket}: restored its "
                          f"{', '.join(store.fixed)}")
    for child in conn.rendered.stacks.values():
        store.upload(artifact_key(conn.rendered.names, child), child.template)
    for key in store.replaced:
        conn.console.line(f"artifacts: s3://{conn.bucket}/{key} did not hold the template its "
                          "key names; uploaded the rendered one over it")
    conn.console.line(f"artifacts: uploaded {len(store.uploaded)} of "
                      f"{len(conn.rendered.stacks)} child templates to s3://{conn.bucket}/ "
                      "(the others hold exactly the rendered text, read back and compared)")


def waits_from(timeouts: Sequence[str]) -> Waits:
    """`--wait-timeout MINUTES` sets every stack's deadline, shorter or longer than the
    defaults by type (60 minutes for RDS: a plain value used to only ever lengthen
    those); `--wait-timeout TYPE=MINUTES` sets the deadline of stacks holding TYPE,
    over a plain value whatever the order."""
    waits = Waits()
    every: float | None = None
    by_type: dict[str, float] = {}
    for value in timeouts:
        kind, _, number = value.rpartition("=")
        try:
            seconds = float(number) * 60
        except ValueError:
            seconds = -1.0
        if not seconds > 0 or seconds == float("inf") or (kind and not kind.startswith("AWS::")):
            raise UsageError(f"--wait-timeout {value}: give minutes, or TYPE=MINUTES with a "
                             "resource type, e.g. --wait-timeout 45 or "
                             "--wait-timeout AWS::RDS::DBInstance=90")
        if kind:
            by_type[kind] = seconds
        else:
            every = seconds
    if every is None:
        return msgspec.structs.replace(waits, by_type={**waits.by_type, **by_type})
    return msgspec.structs.replace(waits, default_seconds=every,
                               by_type={**dict.fromkeys(waits.by_type, every), **by_type})


def env_lock(conn: Connection, reason: str, stop: threading.Event | None = None,
             check_bucket: bool = True) -> EnvLock:
    def lost(why: str) -> None:
        conn.console.line(f"warning: {why}; no new stack starts")
        if stop is not None:
            stop.set()

    return EnvLock(conn.aws.client("s3"), conn.bucket, conn.rendered.env.config.region,
                   conn.rendered.env.name, conn.rendered.names.prefix, reason,
                   account=conn.aws.account, on_lost=lost, check_bucket=check_bucket)


def takeover_notice(lock: EnvLock) -> str:
    """The one line a run says when it took over another run's lock."""
    old = lock.took_over
    assert old is not None
    if lock.took_over_dead:
        return (f"took over the lock of {old.who} ({old.reason}, since "
                f"{when(old.acquired)}): that process no longer runs on this host")
    return (f"took over the expired lock of {old.who} ({old.reason}, since "
            f"{when(old.acquired)}, expired {when(old.expires)})")


@contextlib.contextmanager
def locked(conn: Connection, reason: str, stop: threading.Event | None = None,
           check_bucket: bool = True) -> Iterator[None]:
    """The unit's lock for the block (deploy, apply, delete; never plan or diff).
    ``check_bucket``: the bucket's settings checked (and fixed) before the lock is taken;
    False (delete) skips those four calls when the bucket exists."""
    lock = env_lock(conn, reason, stop, check_bucket)
    with lock.held():
        if lock.took_over is not None:
            conn.console.line(takeover_notice(lock))
        yield


@contextlib.contextmanager
def all_locked(conns: Sequence[Connection], reason: str,
               stops: dict[str, threading.Event], check_bucket: bool = True) -> Iterator[None]:
    """Each unit's own lock; a lost lock stops that unit alone."""
    with contextlib.ExitStack() as held:
        for c in conns:
            held.enter_context(locked(c, reason, stops.get(c.label), check_bucket))
        yield


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=2, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
