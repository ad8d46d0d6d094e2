"""Issue 10, defects 4, 5, 7, 9, 10, 11 and parts of 12: what a first deploy to a real
account needs that the local endpoint cannot show (TLS to PostgreSQL, a delegated zone,
DB settings of standalone tasks, blue/green traffic and rollback alarms, the password
rotation design, the nested form's stack policy, NAT per AZ, the engine version)."""

from __future__ import annotations

from tests.helpers.rendered import _render, _resources


def test_a_parent_zone_in_the_account_gets_the_delegation_record() -> None:
    res = _resources(_render("dev", "dns.zone.parent_zone_id=Z0PARENT"), "dns")
    ns = res["Delegation"]["Properties"]
    assert ns["HostedZoneId"] == "Z0PARENT" and ns["Type"] == "NS"
    assert ns["Name"] == "dev.example.com"
    assert ns["ResourceRecords"] == {"Fn::GetAtt": ["HostedZone", "NameServers"]}
    assert "Delegation" not in _resources(_render("dev"), "dns")

