"""A target's session (an env's `targets:` entry, issue 16 item 6): its account's
credentials, by STS AssumeRole or the caller's own, checked before any change.

A target's session comes from the caller's credentials: with a `role_arn`, from STS
AssumeRole (AWS STS API Reference, AssumeRole: "Returns a set of temporary security
credentials that you can use to access Amazon Web Services resources"); without one the
caller's own credentials, which must be of the target's account. Either way the
account is checked with GetCallerIdentity before any change. Calls go where the env's
`target` sends them (the local endpoint, or AWS), in the target's region.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.aws.cfn import CloudFormation
from generator.aws.endpoint import (
    PROBE_CONFIG,
    RETRY_CONFIG,
    Route,
    Session,
    routed,
)
from generator.aws.session import Aws, resolve_route
from generator.config import DeployTarget, Environment
from generator.errors import AccountMismatch, AwsError


def label(env: str, target: DeployTarget) -> str:
    """How a target's rows and lines are named: env@account/region."""
    return f"{env}@{target.account}/{target.region}"


def target_of(cfg: Environment) -> DeployTarget | None:
    """The target a per-target rendering is for (its account_id and region set from it)."""
    for t in cfg.targets:
        if t.account == cfg.account_id and t.region == cfg.region:
            return t
    return None


def _session(where: Route, region: str, credentials: dict[str, str] | None) -> Session:
    """A session in ``region`` (the target's, whatever AWS_REGION says), routed as the
    env's target routes, with ``credentials`` or the target's own."""
    return routed(region, where, credentials)


def assume(sts: Any, role_arn: str, session_name: str) -> dict[str, str]:
    """Temporary credentials of ``role_arn`` from the caller's; one line on refusal."""
    try:
        found = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsError(f"cannot assume {role_arn}: {error.get('Code')}: "
                       f"{error.get('Message')}; the caller needs sts:AssumeRole on it and "
                       "the role's trust policy must name the caller") from None
    except BotoCoreError as exc:
        raise AwsError(f"cannot assume {role_arn}: {exc}") from None
    creds = found["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}


def connect_target(cfg: Environment, env: str, target: DeployTarget) -> Aws:
    """The target's session, its account checked."""
    where = resolve_route(cfg)
    caller = _session(where, target.region, None)
    credentials = None
    if target.role_arn:
        credentials = assume(caller.client("sts", config=PROBE_CONFIG), target.role_arn,
                             f"stackgen-{env}")
    sess = _session(where, target.region, credentials) if credentials else caller
    try:
        account = sess.client("sts", config=PROBE_CONFIG).get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        raise AwsError(f"cannot check the account of target {label(env, target)}: "
                       f"{exc}") from None
    if account != target.account:
        how = f"assuming {target.role_arn}" if target.role_arn else "with these credentials"
        raise AccountMismatch(
            f"target {label(env, target)}: {how} the calls reach account {account}, not "
            f"{target.account}; fix the target's account or role_arn, or switch profile")
    return Aws(sess, CloudFormation(sess.client("cloudformation", config=RETRY_CONFIG)),
               account, where)
