"""An env's session: where its calls go (the endpoint its `target:` names), checked
against its account before any change."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.parsers import ResponseParserError

from generator.aws.cfn import CloudFormation, UnreadableAnswer
from generator.aws.endpoint import (
    AWS,
    PROBE_CONFIG,
    RETRY_CONFIG,
    Route,
    Session,
    local_route,
    session,
)
from generator.config import Environment
from generator.errors import AccountMismatch, AwsError, StackgenError


class LocalEndpointNotRunning(AwsError):
    """The env targets the local endpoint and none runs."""


class RouteMismatch(StackgenError):
    """The environment points the env's calls somewhere its target forbids."""


class AwsConfigError(AwsError):
    """The AWS configuration names something that is not there (a profile): bad input."""

    exit_code = 2


def credential_problem(exc: BaseException) -> AwsError | None:
    """A credential or profile failure said as what it is, not as a network failure; None
    for any other error. botocore raises these while a client is made or signs its first
    call (AWS SDKs and Tools Reference Guide, "Shared config and credentials files",
    "Process credential provider")."""
    profile = os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") \
        or "default"
    if isinstance(exc, ProfileNotFound):
        name = exc.kwargs.get("profile") or profile
        return AwsConfigError(
            f"AWS profile '{name}' is not in ~/.aws/config or ~/.aws/credentials; fix "
            f"AWS_PROFILE (`aws configure list-profiles` lists them) or add the profile")
    if isinstance(exc, CredentialRetrievalError):
        said = " ".join(str(exc.kwargs.get("error_msg") or "").split())
        if exc.kwargs.get("provider") == "custom-process":
            return AwsError(
                f"the credential_process of AWS profile '{profile}' failed: "
                f"{said or 'it exited non-zero and said nothing on stderr'}; run that "
                "command by hand to see why (an expired login, a missing tool)")
        return AwsError(f"AWS credentials could not be read ({exc.kwargs.get('provider')}): "
                        f"{said or 'no reason given'}")
    if isinstance(exc, PartialCredentialsError):
        return AwsConfigError(f"AWS credentials are incomplete: {exc}; set both "
                              "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    if isinstance(exc, NoCredentialsError):
        return AwsError("no AWS credentials: set "
                        "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    return None


def _endpoint_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The SDKs' endpoint variables: AWS_ENDPOINT_URL, and AWS_ENDPOINT_URL_<SERVICE>
    which overrides it per service (AWS SDKs and Tools Reference Guide,
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html)."""
    return {k: v for k, v in environ.items()
            if v and (k == "AWS_ENDPOINT_URL" or k.startswith("AWS_ENDPOINT_URL_"))}


def _aws_route(cfg: Environment, state_dir: Path, environ: Mapping[str, str]) -> Route:
    """The standard chain; an endpoint variable left pointing at the local endpoint (say,
    from `stackgen local up`'s export line) must not send an AWS env there."""
    from generator.local.manager import identify_url

    for key, url in sorted(_endpoint_overrides(environ).items()):
        if identify_url(url) is not None:
            raise RouteMismatch(
                f"the env has target: aws, but {key}={url} is the stackgen local endpoint; "
                f"unset {key}, or set target: local in the env's params")
    return AWS


def _local_route(cfg: Environment, state_dir: Path, environ: Mapping[str, str]) -> Route:
    """The running local endpoint: the one AWS_ENDPOINT_URL names when that is a stackgen
    local endpoint on loopback, else the one this directory's `stackgen local up` started."""
    from generator.local.manager import LocalEndpoint, identify_url

    overrides = _endpoint_overrides(environ)
    for key, url in sorted(overrides.items()):
        if identify_url(url) is None:
            raise RouteMismatch(
                f"the env has target: local, but {key}={url} is not a running stackgen "
                f"local endpoint on 127.0.0.1; unset {key} (the local endpoint is found by "
                "itself) or start it with `stackgen local up`")
    urls = sorted({url.rstrip("/") for url in overrides.values()})
    if len(urls) > 1:
        raise RouteMismatch(f"the env has target: local, but the AWS_ENDPOINT_URL* variables "
                             f"name {len(urls)} endpoints ({', '.join(urls)}); keep one")
    if urls:
        return local_route(urls[0])
    found = LocalEndpoint(state_dir).find()
    if found is None:
        raise LocalEndpointNotRunning(
            "the env has target: local and the local endpoint is not running; "
            "start it with `stackgen local up` (or `make local-up`)")
    return local_route(found.url)


# Each env's `target` key names how its calls are routed; nothing downstream asks.
_RESOLVERS: dict[str, Callable[[Environment, Path, Mapping[str, str]], Route]] = {
    "aws": _aws_route,
    "local": _local_route,
}


def resolve_route(cfg: Environment, state_dir: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> Route:
    """Where the env's AWS calls go, from its config (and, for the local endpoint, the
    state dir that `stackgen local up` wrote)."""
    from generator.local.manager import DEFAULT_STATE_DIR

    return _RESOLVERS[cfg.target](cfg, state_dir or DEFAULT_STATE_DIR,
                                  os.environ if environ is None else environ)


class Aws(msgspec.Struct, frozen=True):
    """An env's way to AWS: the run's session for its route (clients made on first use,
    once), CloudFormation, and the account the session reaches."""

    session: Session
    cfn: CloudFormation
    account: str
    route: Route = AWS

    def client(self, service: str) -> Any:
        return self.session.client(service, config=RETRY_CONFIG)


def connect(cfg: Environment, state_dir: Path | None = None) -> Aws:
    """A session for the env's route and region; refuses an account the env does not name."""
    route = resolve_route(cfg, state_dir)
    try:
        sess = session(cfg.region, route)
        identity = sess.client("sts", config=PROBE_CONFIG).get_caller_identity()
    except ResponseParserError as exc:  # an HTML page where an AWS answer should be
        raise UnreadableAnswer("get_caller_identity", endpoint_of(sess), str(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        problem = credential_problem(exc)
        if problem is not None:
            raise problem from None
        endpoint = route.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        hint = f"; is the endpoint at {endpoint} running? (`stackgen local up`)" if endpoint else ""
        raise AwsError(f"cannot reach AWS to check the account: {exc}{hint}") from None
    if cfg.account_id and identity["Account"] != cfg.account_id:
        raise AccountMismatch(
            f"these credentials are for account {identity['Account']}, but the env names "
            f"account_id {cfg.account_id}; switch profile or fix account_id in its params")
    return Aws(sess, CloudFormation(sess.client("cloudformation", config=RETRY_CONFIG)),
               identity["Account"], route)


def endpoint_of(sess: Session) -> str:
    return os.environ.get("AWS_ENDPOINT_URL") or f"AWS ({sess.region_name})"


class SharedAws(Aws, frozen=True):
    """One session for the envs of one target, shared by every env and thread: each of
    its clients is made once, on first use (``Session.client``)."""
