"""Stack refactoring (generator/deploy/refactor.py, emulation/refactor.py): an env
deployed in the old layout (the load balancer's group in `alb`, tests/fixtures/old_layout)
moves the group to `network` unreplaced, then takes today's templates with no resource
replaced; bare moto has no refactor API."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.deploy.refactor import (
    Move,
    detect,
    read_mapping,
)
from generator.errors import UsageError
from tests.helpers.refactor import MOVE


def test_renames_and_moves_are_paired_by_type_when_ids_differ() -> None:
    old = {"asg": {"Resources": {"InstanceSecurityGroup": {"Type": "AWS::EC2::SecurityGroup"},
                                 "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup"}}},
           "network": {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC"}}}}
    new = {"asg": {"Resources": {"Group": {"Type": "AWS::AutoScaling::AutoScalingGroup"}}},
           "network": {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC"},
                                     "AppSecurityGroup": {"Type": "AWS::EC2::SecurityGroup"}}}}
    [guess] = detect(old, new)
    assert guess == Move("asg", "InstanceSecurityGroup", "network", "AppSecurityGroup", "type")
    assert guess.line().startswith("possible move asg.InstanceSecurityGroup → "
                                   "network.AppSecurityGroup")


def test_a_mapping_file_is_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "m.yaml"
    good.write_text("alb.AlbSecurityGroup: network.AlbSecurityGroup\n")
    assert read_mapping(good, ["alb", "network"]) == [MOVE]
    bad = tmp_path / "bad.yaml"
    bad.write_text("alb.AlbSecurityGroup: nowhere.X\n")
    with pytest.raises(UsageError, match=r"stack\.LogicalId"):
        read_mapping(bad, ["alb", "network"])
