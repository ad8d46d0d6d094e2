"""The preflight checks before any stack (generator/deploy/preflight.py): a created zone
must be delegated, the nested form of a hand-delegated zone is refused."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from generator.config import Environment
from generator.deploy.preflight import (
    NestedZoneRefused,
    ZoneNotDelegated,
    check_delegation,
    refuse_nested,
)
from generator.params import load_env
from tests.conftest import ROOT
from tests.helpers.rendered import NS
from tests.stubs import offline_client


def _cfg(*overrides: str) -> Environment:
    return load_env(ROOT / "params", "dev", overrides).config


def _route53() -> Any:
    return offline_client("route53")


ZONES = {"IsTruncated": False, "MaxItems": "10", "DNSName": "dev.example.com"}


def _zone(zone_id: str, name: str) -> dict[str, Any]:
    return {"Id": f"/hostedzone/{zone_id}", "Name": name, "CallerReference": "x",
            "Config": {"PrivateZone": False}}


def _get_zone(zone_id: str, name: str) -> dict[str, Any]:
    return {"HostedZone": _zone(zone_id, name), "DelegationSet": {"NameServers": NS}}


def _ns_records(name: str, values: list[str]) -> dict[str, Any]:
    return {"ResourceRecordSets": [{"Name": name, "Type": "NS", "TTL": 172800,
                                    "ResourceRecords": [{"Value": v + "."} for v in values]}],
            "IsTruncated": False, "MaxItems": "1"}


def test_preflight_refuses_a_created_zone_that_nothing_delegates() -> None:
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("list_hosted_zones_by_name", {**ZONES, "HostedZones": []})
        with pytest.raises(ZoneNotDelegated) as err:
            check_delegation(_cfg(), client, "dev", starts_certificate=True)
    message = str(err.value)
    assert "zone dev.example.com is not delegated" in message and "\n" not in message
    assert "stackgen deploy --env dev --stack dns" in message
    assert "dns.zone.delegated: true" in message
    assert err.value.exit_code == 1


def test_preflight_names_the_parent_zone_it_finds_in_the_account() -> None:
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("list_hosted_zones_by_name",
                          {**ZONES, "HostedZones": [_zone("ZPARENT", "example.com.")]})
        with pytest.raises(ZoneNotDelegated, match=r"set dns\.zone\.parent_zone_id: ZPARENT"):
            check_delegation(_cfg(), client, "dev", starts_certificate=True)


def test_preflight_checks_the_parent_lists_the_zones_name_servers() -> None:
    client = _route53()
    cfg = _cfg("dns.zone.parent_zone_id=ZPARENT")
    with Stubber(client) as stub:
        stub.add_response("get_hosted_zone", _get_zone("ZPARENT", "example.com."))
        stub.add_response("get_hosted_zone", _get_zone("ZCHILD", "dev.example.com."))
        stub.add_response("list_resource_record_sets", _ns_records("dev.example.com.", NS[:1]))
        with pytest.raises(ZoneNotDelegated, match=r"does not list ns-2\.awsdns-02\.com"):
            check_delegation(cfg, client, "dev", starts_certificate=True, zone_id="ZCHILD")
    with Stubber(client) as stub:  # delegated: passes
        stub.add_response("get_hosted_zone", _get_zone("ZPARENT", "example.com."))
        stub.add_response("get_hosted_zone", _get_zone("ZCHILD", "dev.example.com."))
        stub.add_response("list_resource_record_sets", _ns_records("dev.example.com.", NS))
        check_delegation(cfg, client, "dev", starts_certificate=True, zone_id="ZCHILD")
        stub.assert_no_pending_responses()


def test_preflight_refuses_a_parent_zone_id_of_another_zone() -> None:
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("get_hosted_zone", _get_zone("ZOTHER", "other.org."))
        with pytest.raises(ZoneNotDelegated, match=r"is zone other\.org, not the parent"):
            check_delegation(_cfg("dns.zone.parent_zone_id=ZOTHER"), client, "dev", True)


def test_preflight_asks_nothing_when_no_certificate_starts_or_the_zone_is_not_created() -> None:
    client = _route53()
    with Stubber(client) as stub:  # no response queued: any call would fail
        check_delegation(_cfg(), client, "dev", starts_certificate=False)
        check_delegation(load_env(ROOT / "params", "prod").config, client, "prod", True)
        stub.assert_no_pending_responses()


def test_delegated_true_trusts_the_user_about_the_zone_the_dns_stack_holds() -> None:
    client = _route53()
    with Stubber(client) as stub:  # the parent is not in the account: the user's word
        stub.add_response("list_hosted_zones_by_name", {**ZONES, "HostedZones": []})
        check_delegation(_cfg("dns.zone.delegated=true"), client, "dev", True, zone_id="ZCHILD")
        stub.assert_no_pending_responses()


# --- issue 27: a created zone is checked by id; the nested form never makes a second one


def test_the_check_is_on_the_zone_the_dns_stack_holds_not_a_namesake() -> None:
    """A retained zone of the same name (the parent delegates to it) does not vouch for
    the zone the dns stack holds now: the parent must list the latter's name servers."""
    client = _route53()
    cfg = _cfg("dns.zone.parent_zone_id=ZPARENT")
    with Stubber(client) as stub:
        stub.add_response("get_hosted_zone", _get_zone("ZPARENT", "example.com."))
        stub.add_response("get_hosted_zone", {**_get_zone("ZNEW", "dev.example.com."),
                                              "DelegationSet": {"NameServers": ["ns-9.new."]}})
        stub.add_response("list_resource_record_sets", _ns_records("dev.example.com.", NS))
        with pytest.raises(ZoneNotDelegated, match=r"does not list ns-9\.new"):
            check_delegation(cfg, client, "dev", True, zone_id="ZNEW")
        stub.assert_no_pending_responses()


def test_delegated_true_is_refused_when_the_dns_stack_would_make_a_new_zone() -> None:
    """Re-create after delete: the zone was retained, the dns stack is gone; with
    delegated: true the create would make a second zone nobody delegates."""
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("list_hosted_zones_by_name", {**ZONES, "HostedZones": []})
        stub.add_response("list_hosted_zones_by_name", {
            **ZONES, "HostedZones": [_zone("ZKEPT", "dev.example.com.")]})
        with pytest.raises(ZoneNotDelegated) as err:
            check_delegation(_cfg("dns.zone.delegated=true"), client, "dev", True)
    message = str(err.value)
    assert "delegated is true but the dns stack holds no zone" in message
    assert "dns.zone.id: ZKEPT and create: false" in message and "\n" not in message


def test_delegated_true_with_the_parent_in_the_account_is_still_checked() -> None:
    client = _route53()
    with Stubber(client) as stub:
        stub.add_response("list_hosted_zones_by_name",
                          {**ZONES, "HostedZones": [_zone("ZPARENT", "example.com.")]})
        stub.add_response("get_hosted_zone", _get_zone("ZCHILD", "dev.example.com."))
        stub.add_response("list_resource_record_sets", {"ResourceRecordSets": [],
                                                        "IsTruncated": False, "MaxItems": "1"})
        with pytest.raises(ZoneNotDelegated, match="does not list"):
            check_delegation(_cfg("dns.zone.delegated=true"), client, "dev", True,
                             zone_id="ZCHILD")


def test_nested_form_of_a_hand_delegated_created_zone_is_refused() -> None:
    with pytest.raises(NestedZoneRefused) as err:
        refuse_nested(_cfg(), "dev")
    assert err.value.exit_code == 2 and "second zone" in str(err.value)
    refuse_nested(_cfg("dns.zone.parent_zone_id=ZPARENT"), "dev")  # the child delegates
    refuse_nested(load_env(ROOT / "params", "prod").config, "prod")  # an existing zone
