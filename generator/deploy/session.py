"""What every AWS-facing command needs: a session, an account check, a confirmer."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from generator.aws import PROBE_CONFIG, RETRY_CONFIG, session
from generator.config import Environment
from generator.deploy.cfn import CloudFormation, UnreadableAnswer
from generator.deploy.engine import Confirm
from generator.errors import AccountMismatch, AwsError, ConfirmationRequired


@dataclass(frozen=True)
class Aws:
    session: Any
    cfn: CloudFormation
    account: str

    def client(self, service: str) -> Any:
        return self.session.client(service, config=RETRY_CONFIG)


def connect(cfg: Environment) -> Aws:
    """A session for the env's region; refuses an account the env does not name."""
    sess = session(cfg.region)
    try:
        identity = sess.client("sts", config=PROBE_CONFIG).get_caller_identity()
    except ResponseParserError as exc:  # an HTML page where an AWS answer should be
        raise UnreadableAnswer("get_caller_identity", endpoint_of(sess), str(exc)) from None
    except NoCredentialsError:
        raise AwsError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                       "AWS_SECRET_ACCESS_KEY (any values do for the local endpoint)") from None
    except (BotoCoreError, ClientError) as exc:
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        hint = f"; is the endpoint at {endpoint} running? (`stackgen local up`)" if endpoint else ""
        raise AwsError(f"cannot reach AWS to check the account: {exc}{hint}") from None
    if cfg.account_id and identity["Account"] != cfg.account_id:
        raise AccountMismatch(
            f"these credentials are for account {identity['Account']}, but the env names "
            f"account_id {cfg.account_id}; switch profile or fix account_id in its params")
    return Aws(sess, CloudFormation(sess.client("cloudformation", config=RETRY_CONFIG)),
               identity["Account"])


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
