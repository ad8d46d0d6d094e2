"""The dns stack's view and template (generator/views/dns.py)."""

from __future__ import annotations

from tests.helpers.rendered import _render, _resources


def test_a_parent_zone_in_the_account_gets_the_delegation_record() -> None:
    res = _resources(_render("dev", "dns.zone.parent_zone_id=Z0PARENT"), "dns")
    ns = res["Delegation"]["Properties"]
    assert ns["HostedZoneId"] == "Z0PARENT" and ns["Type"] == "NS"
    assert ns["Name"] == "dev.example.com"
    assert ns["ResourceRecords"] == {"Fn::GetAtt": ["HostedZone", "NameServers"]}
    assert "Delegation" not in _resources(_render("dev"), "dns")

