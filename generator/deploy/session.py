"""What every AWS-facing command needs: a session, an account check, a confirmer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from generator.aws import AWS, PROBE_CONFIG, RETRY_CONFIG, Target, local_target, session
from generator.config import Environment
from generator.deploy.cfn import CloudFormation, UnreadableAnswer
from generator.deploy.engine import Confirm
from generator.errors import AccountMismatch, AwsError, ConfirmationRequired, StackgenError


class LocalEndpointNotRunning(AwsError):
    """The env targets the local endpoint and none runs."""


class TargetMismatch(StackgenError):
    """The environment points the env's calls somewhere its target forbids."""


def _endpoint_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The SDKs' endpoint variables: AWS_ENDPOINT_URL, and AWS_ENDPOINT_URL_<SERVICE>
    which overrides it per service (AWS SDKs and Tools Reference Guide,
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html)."""
    return {k: v for k, v in environ.items()
            if v and (k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_"))}


def _aws_target(cfg: Environment, state_dir: Path, environ: Mapping[str, str]) -> Target:
    """The standard chain; an endpoint variable left pointing at the local endpoint (say,
    from `stackgen local up`'s export line) must not send an AWS env there."""
    from generator.local.manager import identify_url

    for key, url in sorted(_endpoint_overrides(environ).items()):
        if identify_url(url) is not None:
            raise TargetMismatch(
                f"the env has target: aws, but {key}={url} is the stackgen local endpoint; "
                f"unset {key}, or set target: local in the env's params")
    return AWS


def _local_target(cfg: Environment, state_dir: Path, environ: Mapping[str, str]) -> Target:
    """The running local endpoint: the one AWS_ENDPOINT_URL names when that is a stackgen
    local endpoint on loopback, else the one this directory's `stackgen local up` started."""
    from generator.local.manager import LocalEndpoint, identify_url

    overrides = _endpoint_overrides(environ)
    for key, url in sorted(overrides.items()):
        if identify_url(url) is None:
            raise TargetMismatch(
                f"the env has target: local, but {key}={url} is not a running stackgen "
                f"local endpoint on 127.0.0.1; unset {key} (the local endpoint is found by "
                "itself) or start it with `stackgen local up`")
    urls = sorted({url.rstrip("/") for url in overrides.values()})
    if len(urls) > 1:
        raise TargetMismatch(f"the env has target: local, but the AWS_ENDPOINT_URL* variables "
                             f"name {len(urls)} endpoints ({', '.join(urls)}); keep one")
    if urls:
        return local_target(urls[0])
    found = LocalEndpoint(state_dir).find()
    if found is None:
        raise LocalEndpointNotRunning(
            "the env has target: local and the local endpoint is not running; "
            "start it with `stackgen local up` (or `make local-up`)")
    return local_target(found.url)


# Each env's `target` key names how its calls are routed; nothing downstream asks.
_RESOLVERS: dict[str, Callable[[Environment, Path, Mapping[str, str]], Target]] = {
    "aws": _aws_target,
    "local": _local_target,
}


def resolve_target(cfg: Environment, state_dir: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> Target:
    """Where the env's AWS calls go, from its config (and, for the local endpoint, the
    state dir that `stackgen local up` wrote)."""
    from generator.local.manager import DEFAULT_STATE_DIR

    return _RESOLVERS[cfg.target](cfg, state_dir or DEFAULT_STATE_DIR,
                                  os.environ if environ is None else environ)


@dataclass(frozen=True)
class Aws:
    session: Any
    cfn: CloudFormation
    account: str
    target: Target = AWS

    def client(self, service: str) -> Any:
        return self.session.client(service, config=RETRY_CONFIG)


def connect(cfg: Environment, state_dir: Path | None = None) -> Aws:
    """A session for the env's target and region; refuses an account the env does not name."""
    target = resolve_target(cfg, state_dir)
    sess = session(cfg.region, target)
    try:
        identity = sess.client("sts", config=PROBE_CONFIG).get_caller_identity()
    except ResponseParserError as exc:  # an HTML page where an AWS answer should be
        raise UnreadableAnswer("get_caller_identity", endpoint_of(sess), str(exc)) from None
    except NoCredentialsError:
        raise AwsError("no AWS credentials: set "
                       "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from None
    except (BotoCoreError, ClientError) as exc:
        endpoint = target.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        hint = f"; is the endpoint at {endpoint} running? (`stackgen local up`)" if endpoint else ""
        raise AwsError(f"cannot reach AWS to check the account: {exc}{hint}") from None
    if cfg.account_id and identity["Account"] != cfg.account_id:
        raise AccountMismatch(
            f"these credentials are for account {identity['Account']}, but the env names "
            f"account_id {cfg.account_id}; switch profile or fix account_id in its params")
    return Aws(sess, CloudFormation(sess.client("cloudformation", config=RETRY_CONFIG)),
               identity["Account"], target)


def endpoint_of(sess: Any) -> str:
    return os.environ.get("AWS_ENDPOINT_URL") or f"AWS ({sess.region_name})"


def confirmer(yes: bool) -> Confirm:
    """--yes answers everything; a terminal asks; anything else refuses at once."""
    if yes:
        return lambda question: True
    if not sys.stdin.isatty():
        raise ConfirmationRequired(
            "this needs a yes and there is no terminal to ask in; rerun with --yes "
            "after reviewing `stackgen plan`")
    return lambda question: bool(click.confirm(question, default=False))


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=2, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
