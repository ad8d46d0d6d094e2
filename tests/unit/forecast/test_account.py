"""`stackgen forecast`, account checks: against the local endpoint where moto answers the
API, and with botocore Stubber responses of the real API's shape where it does not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber

from generator.forecast.account import Account
from generator.forecast.checks import (
    CertificateIssued,
    ChangeSetValidation,
    RdsOrderable,
)
from generator.params import load_env
from generator.render import render
from tests.conftest import REGION, ROOT
from tests.helpers.forecast_account import ACCOUNT, _of, _run
from tests.stubs import offline_client

# --- with Stubber: what moto cannot show ----------------------------------------------

def _stubbed(responses: Callable[[dict[str, Stubber]], None]) -> Account:
    clients: dict[str, Any] = {}
    stubs: dict[str, Stubber] = {}
    for service in ("cloudformation", "acm", "rds"):
        clients[service] = offline_client(service, REGION)
        stubs[service] = Stubber(clients[service])
    responses(stubs)
    for stub in stubs.values():
        stub.activate()
    return Account(clients.__getitem__, ACCOUNT)


def _local_rendered() -> Any:
    return render(load_env(ROOT / "params", "local"), ROOT / "templates")


def _cert_stack() -> str:
    """The stack holding the certificate (dns today; its own stack after issue 10)."""
    from generator.forecast.model import Subject

    rendered = _local_rendered()
    stack = next(s for s, _, _ in Subject(rendered).resources("AWS::CertificateManager::Certificate"))
    return str(rendered.stacks[stack].stack_name)


CERT_ARN = f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc"


@pytest.mark.parametrize(("status", "domain", "expected"), [
    ("ISSUED", "kubenews.stackgen.test", []),
    ("ISSUED", "*.stackgen.test", []),
    ("PENDING_VALIDATION", "kubenews.stackgen.test", ["is PENDING_VALIDATION"]),
    ("ISSUED", "other.stackgen.test", ["is for other.stackgen.test, not kubenews.stackgen.test"]),
])
def test_existing_certificate_issued_and_covering(status: str, domain: str,
                                                  expected: list[str]) -> None:
    def responses(stubs: dict[str, Stubber]) -> None:
        name = _cert_stack()
        stubs["cloudformation"].add_response("describe_stacks", {"Stacks": [{
            "StackName": name, "StackStatus": "CREATE_COMPLETE", "CreationTime": "2026-11-28T12:00:00Z",
            "Outputs": [{"OutputKey": "CertificateArn", "OutputValue": CERT_ARN}]}]},
            {"StackName": name})
        stubs["acm"].add_response("describe_certificate", {"Certificate": {
            "CertificateArn": CERT_ARN, "DomainName": domain,
            "SubjectAlternativeNames": [domain], "Status": status, "Type": "AMAZON_ISSUED"}})

    messages = [m for _, m in _of(_run(_stubbed(responses), "local", checks=(CertificateIssued,)),
                                  "F302")]
    assert len(messages) == len(expected)
    for message, part in zip(messages, expected, strict=True):
        assert part in message


EXACT = "rds.engine_version=16.13"  # a full version: the API's filter is used as is


def test_rds_orderable_on_the_real_api_shape() -> None:
    ask = {"Engine": "postgres", "EngineVersion": "16.13", "DBInstanceClass": "db.t3.micro"}

    def refused(stubs: dict[str, Stubber]) -> None:
        stubs["rds"].add_response("describe_orderable_db_instance_options",
                                  {"OrderableDBInstanceOptions": []}, ask)
        stubs["rds"].add_response("describe_orderable_db_instance_options", {
            "OrderableDBInstanceOptions": [{"Engine": "postgres", "EngineVersion": "16.8",
                                            "DBInstanceClass": "db.t3.micro", "StorageType": "gp3",
                                            "MultiAZCapable": True}]},
            {"Engine": "postgres", "MaxRecords": 20})

    [(severity, message)] = _of(_run(_stubbed(refused), "local", EXACT, checks=(RdsOrderable,)),
                                "F403")
    assert severity == "error" and "postgres 16.13 on db.t3.micro is not orderable" in message

    def offered(stubs: dict[str, Stubber]) -> None:
        stubs["rds"].add_response("describe_orderable_db_instance_options", {
            "OrderableDBInstanceOptions": [{"Engine": "postgres", "EngineVersion": "16.13",
                                            "DBInstanceClass": "db.t3.micro", "StorageType": "gp2",
                                            "MultiAZCapable": True}]}, ask)

    [(_, message)] = _of(_run(_stubbed(offered), "local", EXACT, checks=(RdsOrderable,)), "F403")
    assert "not offered with storage gp3 (offered: gp2)" in message

    def orderable(stubs: dict[str, Stubber]) -> None:
        stubs["rds"].add_response("describe_orderable_db_instance_options", {
            "OrderableDBInstanceOptions": [{"Engine": "postgres", "EngineVersion": "16.13",
                                            "DBInstanceClass": "db.t3.micro", "StorageType": st,
                                            "MultiAZCapable": True} for st in ("gp2", "gp3")]},
            ask)

    assert _of(_run(_stubbed(orderable), "local", EXACT, checks=(RdsOrderable,)), "F403") == []


def test_rds_orderable_major_version_matches_its_minors() -> None:
    """The shipped "16" is a major version: AWS's EngineVersion filter matches exact
    versions only, so asking with "16" found nothing and called every env unorderable."""
    ask = {"Engine": "postgres", "DBInstanceClass": "db.t3.micro"}

    def option(version: str) -> dict[str, Any]:
        return {"Engine": "postgres", "EngineVersion": version, "DBInstanceClass": "db.t3.micro",
                "StorageType": "gp3", "MultiAZCapable": True}

    def offered(stubs: dict[str, Stubber]) -> None:
        stubs["rds"].add_response("describe_orderable_db_instance_options", {
            "OrderableDBInstanceOptions": [option("15.10"), option("16.13")]}, ask)

    assert _of(_run(_stubbed(offered), "local", checks=(RdsOrderable,)), "F403") == []

    def other_majors(stubs: dict[str, Stubber]) -> None:
        stubs["rds"].add_response("describe_orderable_db_instance_options", {
            "OrderableDBInstanceOptions": [option("15.10"), option("17.2")]}, ask)
        stubs["rds"].add_response("describe_orderable_db_instance_options", {
            "OrderableDBInstanceOptions": [option("15.10")]}, {"Engine": "postgres",
                                                               "MaxRecords": 20})

    [(severity, message)] = _of(_run(_stubbed(other_majors), "local", checks=(RdsOrderable,)),
                                "F403")
    assert severity == "error" and "postgres 16 on db.t3.micro is not orderable" in message


def test_change_set_early_validation_is_folded_in() -> None:
    names = _local_rendered().graph.order
    cs = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/stackgen-1/abc"

    def responses(stubs: dict[str, Stubber]) -> None:
        cfn = stubs["cloudformation"]
        for name in names:
            stack = f"kubenews-local-{name}"
            if name == "ecs":
                cfn.add_response("describe_stacks", {"Stacks": [{
                    "StackName": stack, "StackStatus": "CREATE_COMPLETE",
                    "CreationTime": "2026-11-28T12:00:00Z"}]}, {"StackName": stack})
            else:
                cfn.add_client_error("describe_stacks", "ValidationError",
                                     f"Stack with id {stack} does not exist",
                                     expected_params={"StackName": stack})
        cfn.add_response("list_change_sets", {"Summaries": [{
            "StackName": "kubenews-local-ecs", "ChangeSetId": cs, "ChangeSetName": "stackgen-1",
            "Status": "FAILED"}]}, {"StackName": "kubenews-local-ecs"})
        cfn.add_response("describe_events", {"OperationEvents": [{
            "EventId": "1", "EventType": "VALIDATION_ERROR", "LogicalResourceId": "Cluster",
            "ValidationName": "PROPERTY_VALIDATION", "ValidationStatus": "FAILED",
            "ValidationFailureMode": "FAIL",
            "ValidationStatusReason": "Resource with name kubenews-local already exists"}]},
            {"ChangeSetName": cs})

    def no_change_sets(stubs: dict[str, Stubber]) -> None:
        for name in names:
            stubs["cloudformation"].add_client_error(
                "describe_stacks", "ValidationError", f"Stack with id {name} does not exist")

    assert _run(_stubbed(no_change_sets), "local", checks=(ChangeSetValidation,)).findings == []
    result = _run(_stubbed(responses), "local", checks=(ChangeSetValidation,))
    [f] = result.findings
    assert (f.check_id, f.severity, f.stack, f.resource) == ("F601", "error", "ecs", "Cluster")
    assert "PROPERTY_VALIDATION failed: Resource with name kubenews-local already exists" in f.message
