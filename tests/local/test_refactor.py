"""Stack refactoring on the local endpoint (emulation/refactor.py); bare moto has none."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from generator.deploy.refactor import (
    Refactorer,
    RefactorFailed,
    detect,
    refactor_templates,
)
from generator.local.manager import Endpoint
from generator.yamlsrc import load_cfn
from tests.conftest import ROOT, clients, reset
from tests.helpers.refactor import MOVE

FIXTURE = ROOT / "tests" / "fixtures" / "old_layout"


def _text(layout: str, stack: str) -> str:
    return (FIXTURE / layout / f"{stack}.yaml").read_text()


def _old_layout(c: Any) -> tuple[str, str]:
    cfn = c.cloudformation
    cfn.create_stack(StackName="network", TemplateBody=_text("old", "network"))
    vpc = cfn.describe_stacks(StackName="network")["Stacks"][0]["Outputs"][0]["OutputValue"]
    cfn.create_stack(StackName="alb", TemplateBody=_text("old", "alb"),
                     Parameters=[{"ParameterKey": "VpcId", "ParameterValue": vpc}])
    group = cfn.describe_stacks(StackName="alb")["Stacks"][0]["Outputs"][0]["OutputValue"]
    return str(vpc), str(group)


def _physical(c: Any, stack: str) -> dict[str, str]:
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in
            c.cloudformation.list_stack_resources(StackName=stack)["StackResourceSummaries"]}


def _update(c: Any, stack: str, **params: str) -> list[tuple[str, str]]:
    cfn = c.cloudformation
    cs = cfn.create_change_set(StackName=stack, ChangeSetName="up", ChangeSetType="UPDATE",
                               TemplateBody=_text("new", stack),
                               Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                           for k, v in params.items()])["Id"]
    changes = [(ch["ResourceChange"]["Action"], ch["ResourceChange"]["LogicalResourceId"])
               for ch in cfn.describe_change_set(ChangeSetName=cs)["Changes"]]
    cfn.execute_change_set(ChangeSetName=cs)
    return changes


def test_the_old_layout_moves_and_upgrades_with_nothing_replaced(endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    vpc, group = _old_layout(c)
    deployed = {s: load_cfn(_text("old", s)) for s in ("network", "alb")}
    moves = detect(deployed, {s: load_cfn(_text("new", s)) for s in ("network", "alb")})
    assert moves == [MOVE]
    assert MOVE.line() == "move alb.AlbSecurityGroup → network.AlbSecurityGroup"
    templates = refactor_templates(deployed, moves, {"alb": _physical(c, "alb")},
                                   {"alb": {"VpcId": vpc}})
    moved = templates["network"]["Resources"]["AlbSecurityGroup"]
    assert moved["Properties"]["VpcId"] == vpc  # what it read of alb, as its value
    assert templates["alb"]["Outputs"]["AlbSecurityGroupId"]["Value"] == group

    actions = Refactorer(c.cloudformation, sleep=lambda s: None).run(
        {"alb": "alb", "network": "network"}, moves, templates, create_stacks=False,
        description="test")
    assert actions == [f"move resource: move AlbSecurityGroup {group}"]
    assert _physical(c, "network")["AlbSecurityGroup"] == group
    assert "AlbSecurityGroup" not in _physical(c, "alb")

    # Today's templates: the group stays (no Add, no Remove), and keeps its id.
    assert ("Add", "AlbSecurityGroup") not in _update(c, "network")
    assert ("Remove", "AlbSecurityGroup") not in _update(c, "alb", VpcId=vpc)
    assert _physical(c, "network")["AlbSecurityGroup"] == group
    [sg] = c.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert sg["VpcId"] == vpc


def test_a_refactor_that_would_empty_a_stack_or_add_a_parameter_fails(
        endpoint: Endpoint) -> None:
    reset(endpoint.url)
    c = clients(endpoint.url)
    vpc, _ = _old_layout(c)
    deployed = {s: load_cfn(_text("old", s)) for s in ("network", "alb")}
    templates = refactor_templates(deployed, [MOVE], {"alb": _physical(c, "alb")},
                                   {"alb": {"VpcId": vpc}})
    templates["network"]["Parameters"] = {"Extra": {"Type": "String"}}
    with pytest.raises(RefactorFailed, match="cannot add parameters"):
        Refactorer(c.cloudformation, sleep=lambda s: None).run(
            {"alb": "alb", "network": "network"}, [MOVE], templates, False, "test")


def test_bare_moto_has_no_stack_refactor(bare_endpoint: str) -> None:
    reset(bare_endpoint)
    c = clients(bare_endpoint)
    _old_layout(c)
    refused = False
    with contextlib.suppress(ClientError, ResponseParserError):
        c.cloudformation.create_stack_refactor(StackDefinitions=[
            {"StackName": "alb", "TemplateBody": _text("new", "alb")},
            {"StackName": "network", "TemplateBody": _text("new", "network")}])
        refused = True  # pragma: no cover - reached only if moto learns the API
    assert not refused

