"""What each AWS-facing command does, start to finish, for the CLI to call.

A command renders (and so validates) first, asks for the means to confirm,
then opens the env here: a session checked against the env's account, and the
form it acts on, the stacks or the nested form's root. Nothing in this module
parses arguments or picks exit codes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generator.deploy.artifacts import Artifacts, bucket_name
from generator.deploy.cfn import Waits
from generator.deploy.delete import Deleter
from generator.deploy.engine import Confirm, Deployer, DeployOptions, StackResult
from generator.deploy.lock import EnvLock, when
from generator.deploy.preflight import CERT_STACK, check_delegation, deployed_zone_id
from generator.deploy.refactor import Move, Refactorer, detect, refactor_templates
from generator.deploy.resolve import Lookups
from generator.deploy.runner import ApprovedRunner, PlanRunner, check_target
from generator.deploy.session import Aws, connect, git_commit
from generator.deploy.status import Outcome
from generator.ecs.deploy_hooks import EcsHooks, hooks_for
from generator.errors import StackgenError, UsageError
from generator.forecast.runner import Forecast
from generator.lint.engine import Linter, failing
from generator.lint.targets import targets_for
from generator.render import Rendered, artifact_key, artifact_prefix, nested_view
from generator.review.plan import ForecastNote, Plan
from generator.review.planner import Planner
from generator.review.report import show_plan
from generator.review.revert import refuse_nested
from generator.review.validation import ValidationBlocked, refuse_blocked
from generator.ui import Console
from generator.views.common import logical_id
from generator.yamlsrc import load_cfn


@dataclass(frozen=True)
class Connection:
    """An env opened for AWS: the rendered stacks, and the form a command acts on."""

    rendered: Rendered
    form: Rendered  # the stacks, or the nested form's root
    aws: Aws
    console: Console
    lookups: Lookups
    nested: bool
    forecast: Forecast | None = None  # what open_env's forecast found, when it ran

    @property
    def bucket(self) -> str:
        return bucket_name(self.aws.account, self.rendered.env.config.region)

    def options(self, **kwargs: Any) -> DeployOptions:
        return DeployOptions(commit=git_commit(), nested=self.nested,
                             children=self.rendered if self.nested else None, **kwargs)


DNS_STACK = "dns"


def check_zone(env: Connection, starts_certificate: bool) -> None:
    """The delegation preflight on the zone the env's dns stack holds, by its id (the
    root's copy of the output in the nested form)."""
    cfg = env.rendered.env.config
    zone_id = None
    if cfg.dns.zone.create and starts_certificate and DNS_STACK in env.rendered.stacks:
        if env.nested:
            zone_id = deployed_zone_id(env.aws.cfn, env.form.root.stack_name,
                                       f"{logical_id(DNS_STACK)}HostedZoneId")
        else:
            zone_id = deployed_zone_id(env.aws.cfn, env.rendered.stacks[DNS_STACK].stack_name,
                                       "HostedZoneId")
    check_delegation(cfg, env.lookups.route53, env.rendered.env.name, starts_certificate,
                     zone_id)


def lint_gate(rendered: Rendered, build_dir: Path, cache_dir: Path,
              stacks: Sequence[str] = ()) -> None:
    """Refuse to deploy templates with lint errors: better than failing half-way."""
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


def open_env(rendered: Rendered, console: Console, nested: bool | None,
             upload: bool = True, forecast: str = "off",
             create_service_linked_role: bool = False) -> Connection:
    """Connect (checking the account) and, for the nested form, put the child templates
    in the artifacts bucket under content-addressed keys. ``forecast``: "record" runs
    `stackgen forecast` on this connection, "gate" also refuses its errors, before any
    upload or change set (issue 12)."""
    aws = connect(rendered.env.config)
    if create_service_linked_role:  # before the forecast, which checks for it (F407)
        ensure_ecs_service_linked_role(aws, console)
    use_nested = rendered.env.config.nested if nested is None else nested
    bucket = bucket_name(aws.account, rendered.env.config.region) if use_nested else None
    env = Connection(rendered, nested_view(rendered) if use_nested else rendered, aws, console,
              Lookups(aws.client("route53"), bucket), use_nested)
    if forecast != "off":
        env = replace(env, forecast=run_forecast(env, refuse_errors=forecast == "gate"))
    if use_nested and upload:
        _upload_children(env)
    return env


def run_forecast(env: Connection, refuse_errors: bool) -> Forecast:
    """The forecast's account checks through the env's session (no second STS call);
    only errors refuse: what an endpoint cannot answer is info, an unreached registry a
    warning."""
    from generator.forecast.account import FORECAST_CONFIG, Account
    from generator.forecast.runner import ForecastFailed, forecast

    session = env.aws.session
    result = forecast(env.rendered, Account(
        lambda service: session.client(service, config=FORECAST_CONFIG), env.aws.account))
    say_forecast(env.console, result)
    if refuse_errors and result.failing("error"):
        raise ForecastFailed(result)
    return result


def say_forecast(console: Console, result: Forecast) -> None:
    console.line(f"forecast: {result.count('error')} errors, {result.count('warning')} "
                 f"warnings, {result.count('info')} info ({len(result.checks)} checks, "
                 f"{result.api_calls} API calls, {result.seconds:.2f} s)")


def _upload_children(env: Connection) -> None:
    region = env.rendered.env.config.region
    store = Artifacts(env.aws.client("s3"), env.bucket, region, env.aws.account)
    if store.ensure_bucket():
        env.console.line(f"created artifacts bucket {env.bucket} (encrypted, versioned, private)")
    elif store.fixed:
        env.console.line(f"artifacts bucket {env.bucket}: restored its {', '.join(store.fixed)}")
    for child in env.rendered.stacks.values():
        store.upload(artifact_key(env.rendered.names, child), child.template)
    for key in store.replaced:
        env.console.line(f"artifacts: s3://{env.bucket}/{key} did not hold the template its "
                         "key names; uploaded the rendered one over it")
    env.console.line(f"artifacts: uploaded {len(store.uploaded)} of {len(env.rendered.stacks)} "
                     f"child templates to s3://{env.bucket}/ (the others hold exactly the "
                     "rendered text, read back and compared)")


def waits_from(timeouts: Sequence[str]) -> Waits:
    """`--wait-timeout MINUTES` (every stack) or `--wait-timeout TYPE=MINUTES`."""
    waits = Waits()
    by_type = dict(waits.by_type)
    for value in timeouts:
        kind, _, number = value.rpartition("=")
        try:
            seconds = float(number) * 60
        except ValueError:
            seconds = -1.0
        if seconds <= 0 or (kind and not kind.startswith("AWS::")):
            raise UsageError(f"--wait-timeout {value}: give minutes, or TYPE=MINUTES with a "
                             "resource type, e.g. --wait-timeout 45 or "
                             "--wait-timeout AWS::RDS::DBInstance=90")
        if kind:
            by_type[kind] = seconds
        else:
            waits = dataclasses.replace(waits, default_seconds=seconds)
            by_type = {k: max(v, seconds) for k, v in by_type.items()}
    return dataclasses.replace(waits, by_type=by_type)


def env_lock(env: Connection, reason: str, stop: threading.Event | None = None) -> EnvLock:
    def lost(why: str) -> None:
        env.console.line(f"warning: {why}; no new stack starts")
        if stop is not None:
            stop.set()

    return EnvLock(env.aws.client("s3"), env.bucket, env.rendered.env.config.region,
                   env.rendered.env.name, env.rendered.names.prefix, reason,
                   account=env.aws.account, on_lost=lost)


@contextlib.contextmanager
def locked(env: Connection, reason: str, stop: threading.Event | None = None) -> Iterator[None]:
    """The env's lock for the block (deploy, apply, delete; never plan or diff)."""
    lock = env_lock(env, reason, stop)
    with lock.held():
        if lock.took_over is not None:
            old = lock.took_over
            env.console.line(f"took over the expired lock of {old.who} ({old.reason}, since "
                             f"{when(old.acquired)}, expired {when(old.expires)})")
        yield


def deploy(env: Connection, confirm: Confirm, stacks: Sequence[str], force: bool,
           concurrency: int, allow_replace: Sequence[str],
           ask_once: bool = False, waits: Waits | None = None,
           approve_broadening: bool = True, import_existing: bool = False,
           revert_drift: bool = False) -> list[StackResult]:
    """``ask_once`` (a person at a terminal): review the whole graph up front, ask once,
    then ask again only for what goes beyond that review. Without
    ``approve_broadening`` an update that broadens access is refused."""
    if env.nested and stacks:
        raise UsageError("--stack and --nested do not mix: the nested form is one stack")
    refuse_nested(revert_drift, env.nested)
    # --revert-drift: a stack whose template did not change may still have drifted.
    options = env.options(stacks=frozenset(stacks), force=force or revert_drift,
                          concurrency=concurrency, allow_replace=frozenset(allow_replace),
                          approve_broadening=approve_broadening,
                          import_existing=import_existing, revert_drift=revert_drift)
    check_zone(env, starts_certificate=env.nested or not stacks or CERT_STACK in stacks)
    if waits is not None:
        env.aws.cfn.waits = waits
    hooks = hooks_for(env.form, env.aws, env.console)
    options = replace(options, hooks=hooks)
    if not env.nested and not stacks and any(m.by == "id" for m in detected(env)[2]):
        refactor(env, confirm)  # moved resources: a stack refactor before any change set
    reason = "deploy" + (f" --stack {','.join(stacks)}" if stacks else "")
    if not ask_once:
        deployer = Deployer(env.form, env.aws.cfn, env.lookups, env.console, confirm, options)
        with locked(env, reason, deployer.stop):
            results = deployer.run()
        return results + verified(env, hooks, results)
    stop = threading.Event()  # the lock's heartbeat stops the run if the lock is lost
    with locked(env, reason, stop):
        planner = Planner(env.form, env.aws.cfn, env.lookups, env.console, lambda q: False,
                          options)
        planner.require_upstream = planner.recreate_failed = True
        whole = planner.plan()
        show_plan(env.console, whole, diff=False)
        planned = {s.stack: s for s in whole.stacks}
        runner = ApprovedRunner(env.form, env.aws.cfn, env.lookups, env.console, confirm,
                                replace(options, planned=planned))
        runner.stop = stop
        try:
            refuse_blocked(whole)
        except ValidationBlocked:
            runner.discard_all()
            raise
        changing = [s.stack for s in whole.stacks if s.changes]
        if changing and not confirm(f"execute the changes to {', '.join(changing)} "
                                    f"(env '{env.rendered.env.name}')?"):
            runner.discard_all()
            return [StackResult(s.stack, s.stack_name,
                                Outcome.DECLINED if s.changes else Outcome.UNCHANGED,
                                reasons=["not approved"] if s.changes else [])
                    for s in whole.stacks]
        results = runner.run()
    return results + verified(env, hooks, results)


def verified(env: Connection, hooks: EcsHooks | None, results: list[StackResult]) -> list[StackResult]:
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
        env.console.line(f"verified: {line}")
    for line in checked.notes:
        env.console.line(f"verify: {line}")
    return []


def target(env: Connection) -> tuple[str, str, str]:
    """Account, region and endpoint URL the env's change sets live in."""
    meta = env.aws.cfn.client.meta
    return env.aws.account, str(meta.region_name), str(meta.endpoint_url)


def detected(env: Connection) -> tuple[dict[str, Any], dict[str, Any], list[Move]]:
    """The deployed templates, the stacks' live state and the moves found between the
    deployed and rendered templates (deploy/refactor.py), in one read of each stack."""
    cfn, form = env.aws.cfn, env.form
    names = {s: form.stacks[s].stack_name for s in form.stacks}
    live = cfn.describe_many(list(names.values()))
    deployed = {s: load_cfn(cfn.template_body(n)) for s, n in names.items()
                if n in live and not live[n].status.empty_shell()}
    return deployed, live, detect(deployed, {s: load_cfn(r.template)
                                             for s, r in form.stacks.items()})


def moves_of(env: Connection, mapping: Sequence[Move] = ()) -> tuple[list[Move],
                                                                        dict[str, Any]]:
    """The env's stack refactor: ``mapping`` or the moves found by logical id (a guess by
    type needs a mapping file), and the refactor's templates."""
    deployed, live, found = detected(env)
    moves = list(mapping) or [m for m in found if m.by == "id"]
    if not moves:
        return [], {}
    names = {s: env.form.stacks[s].stack_name for s in env.form.stacks}
    physical = {m.source_stack: env.aws.cfn.physical_ids(names[m.source_stack]) for m in moves}
    params = {m.source_stack: live[names[m.source_stack]].parameters for m in moves}
    return moves, refactor_templates(deployed, moves, physical, params)


def refactor(env: Connection, confirm: Confirm, mapping: Sequence[Move] = ()) -> list[Move]:
    """Execute the env's stack refactor (after a yes); the moves done, none when none."""
    if env.nested:
        raise UsageError("stack refactors move resources between the env's stacks; the "
                         "nested form is one root stack: refactor with --no-nested")
    with locked(env, "refactor"):
        moves, templates = moves_of(env, mapping)
        if not moves:
            env.console.line("refactor: no resource moves between the env's stacks")
            return []
        for m in moves:
            env.console.line(m.line())
        if not confirm(f"execute the stack refactor of env '{env.rendered.env.name}' "
                       f"({len(moves)} resources move, none is replaced)?"):
            raise StackgenError("stack refactor not approved; nothing was moved")
        names = {s: env.form.stacks[s].stack_name for s in env.form.stacks}
        live = env.aws.cfn.describe_many(list(names.values()))
        lines = Refactorer(env.aws.cfn.client, env.aws.cfn.waits.sleep).run(
            names, moves, templates, create_stacks=any(names[s] not in live for s in templates),
            description=f"stackgen: env {env.rendered.env.name}")
        for line in lines:
            env.console.line(f"refactor: {line}")
    return moves


def plan(env: Connection, stacks: Sequence[str], overrides: Sequence[str],
         drift: bool = True, import_existing: bool = False,
         revert_drift: bool = False) -> Plan:
    refuse_nested(revert_drift, env.nested)
    planner = Planner(env.form, env.aws.cfn, env.lookups, env.console, lambda question: False,
                      env.options(stacks=frozenset(stacks), drift=drift,
                                  force=revert_drift, import_existing=import_existing,
                                  revert_drift=revert_drift))
    result = planner.plan()
    if not env.nested:  # what `deploy` (or `stackgen refactor`) moves before its change sets
        result.moves = [m.line() for m in detected(env)[2]]
    # Recorded so `apply` renders the same templates in the same form, at the same target.
    result.overrides = list(overrides)
    result.nested = env.nested
    result.account, result.region, result.endpoint = target(env)
    if env.forecast is not None:
        result.forecast = [ForecastNote(id=f.check_id, severity=f.severity, stack=f.stack,
                                        resource=f.resource, message=f.message, fix=f.fix)
                           for f in env.forecast.findings]
    return result


def apply(env: Connection, confirm: Confirm, saved: Plan,
          allow_replace: Sequence[str], waits: Waits | None = None,
          approve_broadening: bool = True) -> list[StackResult]:
    """Execute the plan's change sets and nothing else; refuse, before executing anything,
    a plan for another target or one whose stacks moved since."""
    check_target(saved, env.rendered.env.name, *target(env))
    refuse_blocked(saved)
    if any(m.startswith("move ") for m in saved.moves):
        raise StackgenError("the plan moves resources between stacks ("
                            + "; ".join(saved.moves) + "): run `stackgen refactor --env "
                            f"{saved.env}` (or deploy), then plan again")
    if env.nested:
        _upload_children(env)  # content-addressed: the planned children, unchanged
    planned = {s.stack: s for s in saved.stacks}
    options = env.options(stacks=frozenset(planned), allow_replace=frozenset(allow_replace),
                          planned=planned, approve_broadening=approve_broadening)
    check_zone(env, starts_certificate=env.nested or CERT_STACK in planned)
    if waits is not None:
        env.aws.cfn.waits = waits
    hooks = hooks_for(env.form, env.aws, env.console)
    runner = PlanRunner(env.form, env.aws.cfn, env.lookups, env.console, confirm,
                        replace(options, hooks=hooks))
    with locked(env, "apply", runner.stop):
        refused = runner.verify()
        if refused:
            env.console.line(f"the plan is refused; nothing was executed: {len(refused)} of "
                             f"{len(planned)} stacks moved since it was made")
            return refused
        changing = [s.stack for s in saved.stacks if s.changes]
        show_plan(env.console, saved, diff=False)
        if changing and not confirm(f"execute the plan's changes to {', '.join(changing)}?"):
            return [StackResult(s.stack, s.stack_name,
                                Outcome.DECLINED if s.changes else Outcome.UNCHANGED,
                                reasons=["not approved"] if s.changes else [])
                    for s in saved.stacks]
        results = runner.run()
    return results + verified(env, hooks, results)


def delete(env: Connection, confirm: Confirm, stacks: Sequence[str], yes: bool,
           purge_artifacts: bool, waits: Waits | None = None) -> list[StackResult]:
    if waits is not None:
        env.aws.cfn.waits = waits
    deleter = Deleter(env.form, env.aws.cfn, env.console, confirm,
                      children=env.rendered if env.nested else None)
    with locked(env, "delete" + (f" --stack {','.join(stacks)}" if stacks else "")):
        results = deleter.run(deleter.plan(frozenset(stacks)), yes)
    if purge_artifacts and all(r.ok for r in results):
        store = Artifacts(env.aws.client("s3"), env.bucket, env.rendered.env.config.region,
                          env.aws.account)
        try:
            purged = store.purge(artifact_prefix(env.rendered.names))
        except Exception as exc:  # a bucket that never existed has nothing to purge
            env.console.line(f"artifacts: nothing purged ({exc})")
        else:
            env.console.line(f"artifacts: deleted {purged} object versions of env "
                             f"'{env.rendered.env.name}'")
    return results
