"""An env's `targets` (issue 16 item 6): the graph deployed to each account and region,
credentials from STS AssumeRole with the caller's (moto's STS on the local endpoint, and
botocore's Stubber for what moto cannot refuse)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from generator.aws.accounts import assume
from generator.errors import AwsError
from tests.conftest import REGION
from tests.helpers.targets import OTHER, ROLE


def _sts() -> Any:
    return boto3.client("sts", region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def test_assume_sends_the_role_and_returns_its_credentials() -> None:
    sts = _sts()
    with Stubber(sts) as stub:
        stub.add_response("assume_role", {
            "Credentials": {"AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
                            "SecretAccessKey": "s" * 40, "SessionToken": "token",
                            "Expiration": "2026-11-29T03:00:00Z"},
            "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:stackgen-prod",
                                "Arn": f"arn:aws:sts::{OTHER}:assumed-role/x/stackgen-prod"},
        }, {"RoleArn": ROLE, "RoleSessionName": "stackgen-prod"})
        creds = assume(sts, ROLE, "stackgen-prod")
        stub.assert_no_pending_responses()
    assert creds == {"aws_access_key_id": "ASIAEXAMPLEEXAMPLE01",
                     "aws_secret_access_key": "s" * 40, "aws_session_token": "token"}


def test_a_refused_assume_is_one_line_with_the_fix() -> None:
    sts = _sts()
    with Stubber(sts) as stub:
        stub.add_client_error(
            "assume_role", "AccessDenied",
            f"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
            f"sts:AssumeRole on resource: {ROLE}", 403)
        with pytest.raises(AwsError) as caught:
            assume(sts, ROLE, "stackgen-" + "x" * 80)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot assume {ROLE}: AccessDenied")
    assert "trust policy" in message
