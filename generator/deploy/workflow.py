"""What each AWS-facing command does, start to finish, for the CLI to call.

A command renders (and so validates) first, asks for the means to confirm,
then opens the env here: a session checked against the env's account, and the
form it acts on, the stacks or the nested form's root. Nothing in this module
parses arguments or picks exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.deploy.artifacts import Artifacts, bucket_name
from generator.deploy.delete import Deleter
from generator.deploy.engine import Confirm, Deployer, DeployOptions, StackResult
from generator.deploy.plan import Plan
from generator.deploy.planner import Planner
from generator.deploy.resolve import Lookups
from generator.deploy.session import Aws, connect, git_commit
from generator.deploy.ui import Console
from generator.errors import StackgenError, UsageError
from generator.lint.engine import Linter, failing
from generator.lint.targets import targets_for
from generator.render import Rendered, artifact_key, artifact_prefix, nested_view


@dataclass(frozen=True)
class Env:
    """An env opened for AWS: the rendered stacks, and the form a command acts on."""

    rendered: Rendered
    form: Rendered  # the stacks, or the nested form's root
    aws: Aws
    console: Console
    lookups: Lookups
    nested: bool

    @property
    def bucket(self) -> str:
        return bucket_name(self.aws.account, self.rendered.env.config.region)

    def options(self, **kwargs: Any) -> DeployOptions:
        return DeployOptions(commit=git_commit(), nested=self.nested,
                             children=self.rendered if self.nested else None, **kwargs)


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


def open_env(rendered: Rendered, console: Console, nested: bool | None,
             upload: bool = True) -> Env:
    """Connect (checking the account) and, for the nested form, put the child templates
    in the artifacts bucket under content-addressed keys."""
    aws = connect(rendered.env.config)
    use_nested = rendered.env.config.nested if nested is None else nested
    bucket = bucket_name(aws.account, rendered.env.config.region) if use_nested else None
    env = Env(rendered, nested_view(rendered) if use_nested else rendered, aws, console,
              Lookups(aws.client("route53"), bucket), use_nested)
    if use_nested and upload:
        _upload_children(env)
    return env


def _upload_children(env: Env) -> None:
    region = env.rendered.env.config.region
    store = Artifacts(env.aws.client("s3"), env.bucket, region, env.aws.account)
    if store.ensure_bucket():
        env.console.line(f"created artifacts bucket {env.bucket} (encrypted, versioned, private)")
    for child in env.rendered.stacks.values():
        store.upload(artifact_key(env.rendered.names, child), child.template)
    env.console.line(f"artifacts: uploaded {len(store.uploaded)} of {len(env.rendered.stacks)} "
                     f"child templates to s3://{env.bucket}/ (unchanged ones are kept)")


def deploy(env: Env, confirm: Confirm, stacks: Sequence[str], force: bool,
           concurrency: int, allow_replace: Sequence[str]) -> list[StackResult]:
    if env.nested and stacks:
        raise UsageError("--stack and --nested do not mix: the nested form is one stack")
    options = env.options(stacks=frozenset(stacks), force=force, concurrency=concurrency,
                          allow_replace=frozenset(allow_replace))
    return Deployer(env.form, env.aws.cfn, env.lookups, env.console, confirm, options).run()


def plan(env: Env, stacks: Sequence[str], overrides: Sequence[str]) -> Plan:
    planner = Planner(env.form, env.aws.cfn, env.lookups, env.console, lambda question: False,
                      env.options(stacks=frozenset(stacks)))
    result = planner.plan()
    # Recorded so `apply` renders the same templates in the same form.
    result.overrides = list(overrides)
    result.nested = env.nested
    return result


def apply(env: Env, confirm: Confirm, saved: Plan,
          allow_replace: Sequence[str]) -> list[StackResult]:
    planned = {s.stack: s for s in saved.stacks}
    options = env.options(stacks=frozenset(planned), allow_replace=frozenset(allow_replace),
                          planned=planned)
    return Deployer(env.form, env.aws.cfn, env.lookups, env.console, confirm, options).run()


def delete(env: Env, confirm: Confirm, stacks: Sequence[str], yes: bool,
           purge_artifacts: bool) -> list[StackResult]:
    deleter = Deleter(env.form, env.aws.cfn, env.console, confirm,
                      children=env.rendered if env.nested else None)
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
