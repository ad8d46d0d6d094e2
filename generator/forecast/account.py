"""Read-only API calls for the account checks: each distinct call made at most once per run.

Checks run on threads; boto3 clients are thread-safe once made, sessions are
not, so clients are made under a lock. A call's answer (or its error) is kept,
and a second check asking the same thing waits for the first one's answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from generator.config import Environment
from generator.errors import AwsError, StackgenError

# Read-only calls that a forecast can do without: throttling is still absorbed, but an
# endpoint that keeps failing one call costs a second, not the deploy path's eight tries.
FORECAST_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 3}, connect_timeout=3,
                         read_timeout=20)


class ApiError(StackgenError):
    """An API call failed; ``code`` is AWS's error code (``Unreachable`` when none came back)."""

    exit_code = 1

    def __init__(self, service: str, operation: str, code: str, message: str):
        first = (message.strip().splitlines() or [""])[0][:200]
        super().__init__(f"{service} {operation}: {code}: {first}")
        self.service = service
        self.operation = operation
        self.code = code


# Codes that mean "no such thing": a check reads them as an answer, not a failure.
NOT_FOUND_CODES = frozenset({
    "ParameterNotFound", "InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "NoSuchHostedZone",
    "ResourceNotFoundException", "DBInstanceNotFound", "DBInstanceNotFoundFault",
    "TargetGroupNotFound", "LoadBalancerNotFound", "NoSuchEntity", "NoSuchBucket", "404",
    "RepositoryNotFoundException", "ImageNotFoundException", "NoSuchResourceException",
    "ClusterNotFoundException", "InvalidSubnetID.NotFound",
})


class Account:
    """Memoised read-only calls on the account (and endpoint) the env uses."""

    def __init__(self, client_factory: Callable[[str], Any], account_id: str) -> None:
        self._factory = client_factory
        self.account_id = account_id
        self._clients: dict[str, Any] = {}
        self._answers: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()  # the memo and the call log
        self._client_lock = threading.Lock()  # making clients is slow: not under the memo's lock
        self.calls: list[str] = []  # "service.operation" per call actually made

    @property
    def distinct_calls(self) -> int:
        """Distinct (service, operation, arguments) asked; equals len(calls) when none repeats."""
        return len(self._answers)

    def client(self, service: str) -> Any:
        with self._client_lock:
            if service not in self._clients:
                self._clients[service] = self._factory(service)
            return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """The operation's answer; raises ``ApiError``. Same arguments, same (one) call."""
        key = json.dumps([service, operation, kwargs], sort_keys=True, default=str)
        with self._lock:
            future = self._answers.get(key)
            owner = future is None
            if future is None:
                future = self._answers[key] = Future()
        if owner:
            try:
                future.set_result(self._invoke(service, operation, kwargs))
            except ApiError as exc:
                future.set_exception(exc)
        result: dict[str, Any] = future.result()
        return result

    def pages(self, service: str, operation: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item under ``key`` across the operation's pages (one memoised call per page)."""
        items: list[Any] = []
        token_in, token_out = _TOKENS.get((service, operation), ("NextToken", "NextToken"))
        token: str | None = None
        while True:
            page = self.call(service, operation, **kwargs, **({token_in: token} if token else {}))
            items.extend(page.get(key) or [])
            token = page.get(token_out)
            if not token:
                return items

    def _invoke(self, service: str, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        client = self.client(service)
        with self._lock:
            self.calls.append(f"{service}.{operation}")
        try:
            answer: dict[str, Any] = getattr(client, operation)(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code") or exc.response.get("ResponseMetadata", {})
                       .get("HTTPStatusCode", "Unknown"))
            raise ApiError(service, operation, code, str(err.get("Message", ""))) from None
        except BotoCoreError as exc:
            raise ApiError(service, operation, "Unreachable", str(exc)) from None
        except ResponseParserError as exc:  # an HTML 500 page where an answer should be
            raise ApiError(service, operation, "Unreadable", str(exc)) from None
        return answer


# Operations whose pagination token is not NextToken/NextToken.
_TOKENS: dict[tuple[str, str], tuple[str, str]] = {
    ("route53", "list_hosted_zones"): ("Marker", "NextMarker"),
    ("rds", "describe_db_instances"): ("Marker", "Marker"),
    ("rds", "describe_orderable_db_instance_options"): ("Marker", "Marker"),
    ("elbv2", "describe_load_balancers"): ("Marker", "NextMarker"),
    ("logs", "describe_log_groups"): ("nextToken", "nextToken"),
}


def not_found(exc: ApiError) -> bool:
    return exc.code in NOT_FOUND_CODES or exc.code.endswith(".NotFound")


def connect_account(cfg: Environment) -> Account:
    """The env's account, checked like every AWS-facing command (STS, account_id)."""
    from generator.aws.session import connect

    try:
        aws = connect(cfg)
    except AwsError as exc:
        raise AwsError(f"{exc}; `stackgen forecast --offline` runs the checks that need no "
                       "AWS") from None
    return Account(lambda service: aws.session.client(service, config=FORECAST_CONFIG),
                   aws.account)
