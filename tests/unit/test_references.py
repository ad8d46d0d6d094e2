"""Parameters-file references, typed once, and the registry of deploy-time lookups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from generator import references as r
from generator.references import FromOutput, Lookup, LookupFailed, Lookups
from tests.stubs import offline_client


def test_values_are_parsed_into_types_and_back() -> None:
    assert r.parse_value({"From": "network.VpcId"}) == FromOutput("network", "VpcId")
    assert r.parse_value({"Lookup": "HostedZoneIdByName", "Name": "a.test"}) == \
        Lookup("HostedZoneIdByName", "a.test")
    assert r.parse_value({"Lookup": "ArtifactBucket"}) == Lookup("ArtifactBucket")
    assert r.parse_value(True) == "true" and r.parse_value(["a", "b"]) == "a,b"
    assert r.parse_value(3) == "3"
    for value in ({"From": "network.VpcId"}, {"Lookup": "ArtifactBucket"},
                  {"Lookup": "HostedZoneIdByName", "Name": "a.test"}):
        parsed = r.parse_value(value)
        assert isinstance(parsed, FromOutput | Lookup) and parsed.as_json() == value
        assert r.is_reference(value)
    assert not r.is_reference("vpc-1") and not r.is_reference(["a"])


def _zones(*zones: dict[str, Any]) -> dict[str, Any]:
    return {"HostedZones": list(zones), "IsTruncated": False, "MaxItems": "100"}


def _zone(zid: str, name: str, private: bool = False) -> dict[str, Any]:
    return {"Id": f"/hostedzone/{zid}", "Name": name, "CallerReference": zid,
            "Config": {"PrivateZone": private}}


@pytest.fixture
def route53() -> Iterator[tuple[Any, Stubber]]:
    client = offline_client("route53")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_a_zone_by_name_prefers_the_public_one_and_is_asked_once(
        route53: tuple[Any, Stubber]) -> None:
    client, stub = route53
    stub.add_response("list_hosted_zones_by_name", _zones(
        _zone("ZPRIVATE", "app.test.", private=True), _zone("ZPUBLIC", "app.test."),
        _zone("ZOTHER", "other.test.")), {"DNSName": "app.test."})
    lookups = Lookups(client)
    ref = r.parse_value({"Lookup": "HostedZoneIdByName", "Name": "app.test"})
    assert isinstance(ref, Lookup)
    assert lookups.answer(ref) == "ZPUBLIC"
    assert lookups.answer(Lookup("HostedZoneIdByName", "app.test")) == "ZPUBLIC"  # cached


def test_a_missing_zone_says_how_to_fix_it(route53: tuple[Any, Stubber]) -> None:
    client, stub = route53
    stub.add_response("list_hosted_zones_by_name", _zones(_zone("Z1", "other.test.")),
                      {"DNSName": "app.test."})
    with pytest.raises(LookupFailed, match=r"hosted zone app.test. not found .*dns.zone.id"):
        Lookups(client).answer(Lookup("HostedZoneIdByName", "app.test."))


def test_the_artifact_bucket_is_this_runs_and_unknown_kinds_are_refused() -> None:
    assert Lookups(None, "bucket-1").answer(Lookup("ArtifactBucket")) == "bucket-1"
    with pytest.raises(LookupFailed, match="unknown lookup 'ArtifactBucket'"):
        Lookups(None).answer(Lookup("ArtifactBucket"))
    with pytest.raises(LookupFailed, match="unknown lookup 'Nope'"):
        Lookups(None).answer(Lookup("Nope"))


def test_a_new_lookup_is_one_registered_function(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(r, "LOOKUPS", dict(r.LOOKUPS))

    @r.lookup("Echo")
    def echo(account: Lookups, ref: Lookup) -> str:
        return ref.name.upper()

    params = r.parse_parameters({"A": {"Lookup": "Echo", "Name": "x"}, "B": 1})
    assert r.resolve(params, {}, Lookups(None)) == {"A": "X", "B": "1"}


def test_resolve_reads_outputs_and_names_a_missing_one() -> None:
    params = r.parse_parameters({"VpcId": {"From": "network.VpcId"}, "Flag": False})
    outputs = {"network": {"VpcId": "vpc-1"}}
    assert r.resolve(params, outputs, Lookups(None)) == {"VpcId": "vpc-1", "Flag": "false"}
    with pytest.raises(LookupFailed, match=r"parameter VpcId reads network\.VpcId, which the "
                                           r"deployed network stack does not output"):
        r.resolve(params, {"network": {}}, Lookups(None))
