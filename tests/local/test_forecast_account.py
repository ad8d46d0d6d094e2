"""The forecast's account checks against the local endpoint where moto answers the API."""

from __future__ import annotations

import json
from typing import Any

import boto3

from generator.forecast.account import FORECAST_CONFIG, Account
from generator.forecast.checks import (
    AmiArchitecture,
    ImagePlatform,
    InstanceTypeOffered,
    NamesFree,
    QuotaHeadroom,
    SecretsExist,
    ZoneDelegated,
)
from generator.forecast.runner import forecast
from generator.local.manager import Endpoint
from generator.params import load_env
from generator.render import render
from tests.conftest import REGION, ROOT
from tests.helpers.forecast_account import ACCOUNT, _of, _run


def _account(endpoint: Endpoint) -> Account:
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
    return Account(lambda s: session.client(s, endpoint_url=endpoint.url, config=FORECAST_CONFIG),
                   ACCOUNT)


# --- against the local endpoint -----------------------------------------------------

def test_local_env_on_the_local_endpoint(endpoint: Endpoint, aws: Any) -> None:
    account = _account(endpoint)
    result = _run(account, "local")
    account_findings = sorted((f.check_id, f.severity) for f in result.findings
                              if f.check_id >= "F3")
    # The parent of stackgen.test is not in the account; moto lists no postgres options
    # and no load balancer or DB quota; docker.io is not contacted. Nothing passes silently.
    # A fresh account: no ECS service-linked role yet (F407).
    assert account_findings == [("F301", "info"), ("F403", "info"), ("F404", "info"),
                                ("F404", "info"), ("F407", "warning"),
                                ("F501", "warning")], result.findings
    assert not result.skipped
    assert result.api_calls == account.distinct_calls  # each call made once
    again = len(account.calls)
    forecast(render(load_env(ROOT / "params", "local"), ROOT / "templates"), account)
    assert len(account.calls) == again  # and never again in the same account view


def test_zone_delegation_through_route53(endpoint: Endpoint, aws: Any) -> None:
    parent = aws.route53.create_hosted_zone(Name="test.", CallerReference="p")["HostedZone"]["Id"]
    child = aws.route53.list_hosted_zones_by_name(DNSName="stackgen.test.")["HostedZones"][0]
    servers = aws.route53.get_hosted_zone(Id=child["Id"])["DelegationSet"]["NameServers"]
    [(severity, message)] = _of(_run(_account(endpoint), "local", checks=(ZoneDelegated,)), "F301")
    assert severity == "error" and "parent test. (in this account) has no NS record" in message

    def put_ns(values: list[str]) -> None:
        aws.route53.change_resource_record_sets(HostedZoneId=parent, ChangeBatch={"Changes": [{
            "Action": "UPSERT", "ResourceRecordSet": {
                "Name": "stackgen.test.", "Type": "NS", "TTL": 300,
                "ResourceRecords": [{"Value": v} for v in values]}}]})

    put_ns(["ns-1.example.net."])
    [(severity, message)] = _of(_run(_account(endpoint), "local", checks=(ZoneDelegated,)), "F301")
    assert severity == "error" and "lists ns-1.example.net." in message
    put_ns(servers)
    assert _of(_run(_account(endpoint), "local", checks=(ZoneDelegated,)), "F301") == []


def test_zone_missing_or_created_by_the_env(endpoint: Endpoint, aws: Any) -> None:
    [(severity, message)] = _of(_run(_account(endpoint), "prod", checks=(ZoneDelegated,)), "F301")
    assert severity == "error" and "zone id Z0123456789ABCDEFGHIJ is not a public zone" in message
    aws.route53.create_hosted_zone(Name="example.com.", CallerReference="e")
    [(severity, message)] = _of(_run(_account(endpoint), "dev", checks=(ZoneDelegated,)), "F301")
    assert severity == "warning" and "the dns stack creates zone dev.example.com." in message
    assert "zone example.com., in this account," in message


def test_instance_type_offered_in_every_az(endpoint: Endpoint, aws: Any) -> None:
    account = _account(endpoint)
    assert _of(_run(account, "local", checks=(InstanceTypeOffered,)), "F401") == []
    [(severity, message)] = _of(_run(
        _account(endpoint), "local", "network.availability_zones=[us-east-1a, us-east-1z]",
        checks=(InstanceTypeOffered,)), "F401")
    assert severity == "error" and "t3.micro is not offered in us-east-1z" in message


def test_ami_exists_and_matches_the_instance_type(endpoint: Endpoint, aws: Any) -> None:
    assert _of(_run(_account(endpoint), "local", checks=(AmiArchitecture,)), "F402") == []
    [(_, missing)] = _of(_run(_account(endpoint), "local", "asg.ami_ssm_parameter=/no/such/ami",
                              checks=(AmiArchitecture,)), "F402")
    assert "SSM parameter /no/such/ami does not exist in us-east-1" in missing
    [(_, arch)] = _of(_run(_account(endpoint), "local", "asg.instance_type=t4g.micro",
                           checks=(AmiArchitecture,)), "F402")
    assert "is x86_64, but t4g.micro runs arm64" in arch


def test_quota_headroom_counts_usage_and_plan(endpoint: Endpoint, aws: Any) -> None:
    account = _account(endpoint)
    assert [s for s, _ in _of(_run(account, "local", checks=(QuotaHeadroom,)), "F404")] == [
        "info", "info"]  # ALB and DB quotas: the endpoint does not know them
    for i in range(4):  # beside the default VPC: 5, moto's (and AWS's default) quota
        aws.ec2.create_vpc(CidrBlock=f"10.{i + 1}.0.0/16")
    errors = [m for s, m in _of(_run(_account(endpoint), "local", checks=(QuotaHeadroom,)),
                                "F404") if s == "error"]
    assert errors == ["VPCs per Region: 5 in use + 1 planned > quota 5"]


def test_fixed_names_are_free(endpoint: Endpoint, aws: Any) -> None:
    assert _of(_run(_account(endpoint), "local", checks=(NamesFree,)), "F405") == []
    aws.ecs.create_cluster(clusterName="kubenews-local")
    [(severity, message)] = _of(_run(_account(endpoint), "local", checks=(NamesFree,)), "F405")
    assert severity == "error"
    assert "AWS::ECS::Cluster kubenews-local already exists outside stack kubenews-local-cluster" in message



def test_a_retained_zone_and_repository_of_the_envs_names_are_found(
        endpoint: Endpoint, aws: Any) -> None:
    """Re-create after delete: the zone and the repository are Retain. Route 53 would make
    a second zone silently (bare moto too: it is the API's behaviour), ECR refuses the
    name: both are forecast, by name, as not the env's."""
    repo = ("ecs.repository.create=true",)
    assert [m for _, m in _of(_run(_account(endpoint), "dev", *repo, checks=(NamesFree,)),
                              "F405")] == []
    aws.route53.create_hosted_zone(Name="dev.example.com.", CallerReference="kept")
    aws.ecr.create_repository(repositoryName="kubenews-dev")
    found = _of(_run(_account(endpoint), "dev", *repo, checks=(NamesFree,)), "F405")
    zone = [(s, m) for s, m in found if "hosted zone dev.example.com" in m]
    assert zone and zone[0][0] == "error" and "second zone with new name servers" in zone[0][1]
    # The repository has a static name and DeletionPolicy Retain: ImportExistingResources
    # adopts it, so it is a warning naming --adopt-existing (issue 26), not a refusal.
    assert any(s == "warning" and "AWS::ECR::Repository kubenews-dev already exists" in m
               and "unless it is adopted" in m for s, m in found), found
    # With the parent in the account the Delegation record follows the new zone: a warning.
    [(severity, _)] = [(s, m) for s, m in _of(_run(
        _account(endpoint), "dev", "dns.zone.parent_zone_id=ZPARENT",
        checks=(NamesFree,)), "F405") if "hosted zone" in m]
    assert severity == "warning"


def test_secrets_the_params_name_exist(endpoint: Endpoint, aws: Any) -> None:
    arn = aws.secretsmanager.create_secret(Name="api", SecretString="x")["ARN"]
    missing = arn[:-6] + "zzzzzz"
    result = _run(_account(endpoint), "local",
                  f'ecs.container.secrets.API.secretsmanager_arn="{arn}"',
                  f'ecs.container.secrets.OTHER.secretsmanager_arn="{missing}:token::"',
                  "ecs.container.secrets.PARAM.ssm_parameter_arn="
                  f'"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/no/such"',
                  checks=(SecretsExist,))
    messages = sorted(m for _, m in _of(result, "F406"))
    assert len(messages) == 2, messages
    assert messages[0].startswith("ecs.container.secrets.OTHER names")
    assert messages[1].startswith("ecs.container.secrets.PARAM names")


def _manifest_list(*archs: str) -> str:
    return json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
                       "manifests": [{"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                                      "digest": "sha256:" + str(i) * 64, "size": 1000,
                                      "platform": {"architecture": a, "os": "linux"}}
                                     for i, a in enumerate(archs)]})


def test_ecr_image_for_the_task_architecture(endpoint: Endpoint, aws: Any) -> None:
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app:v1"
    aws.ecr.create_repository(repositoryName="app")
    [(_, missing)] = _of(_run(_account(endpoint), "local", f"ecs.container.image={image}",
                              checks=(ImagePlatform,)), "F501")
    assert "is not in ECR" in missing
    aws.ecr.put_image(repositoryName="app", imageTag="v1", imageManifest=_manifest_list("arm64"),
                      imageManifestMediaType="application/vnd.docker.distribution.manifest.list.v2+json")
    [(severity, wrong)] = _of(_run(_account(endpoint), "local", f"ecs.container.image={image}",
                                   checks=(ImagePlatform,)), "F501")
    assert severity == "error" and "has platforms arm64, none amd64" in wrong
    assert _of(_run(_account(endpoint), "local", f"ecs.container.image={image}",
                    "ecs.cpu_architecture=ARM64", "ecs.container.image_architecture=null",
                    checks=(ImagePlatform,)), "F501") == []


class _DnsStub:
    """A DNS server on 127.0.0.1 answering NS questions from a table (never public DNS)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        import socket
        import threading

        self.answers = answers
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import struct

        from generator.forecast.dns import encode_name, read_name

        while True:
            try:
                data, peer = self.sock.recvfrom(512)
            except OSError:
                return
            qid = struct.unpack("!H", data[:2])[0]
            name, end = read_name(data, 12)
            question = data[12:end + 4]
            servers = self.answers.get(name)
            rcode = 3 if servers is None else 0
            reply = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(servers or []), 0, 0)
            reply += question
            for server in servers or []:
                target = encode_name(server)
                # Name as a pointer to the question (offset 12), as real servers compress it.
                reply += struct.pack("!HHHIH", 0xC00C, 2, 1, 300, len(target)) + target
            self.sock.sendto(reply, peer)

    def close(self) -> None:
        self.sock.close()


def test_public_dns_only_behind_the_flag(endpoint: Endpoint, aws: Any) -> None:
    zone = aws.route53.list_hosted_zones_by_name(DNSName="stackgen.test.")["HostedZones"][0]
    servers = aws.route53.get_hosted_zone(Id=zone["Id"])["DelegationSet"]["NameServers"]
    rendered = render(load_env(ROOT / "params", "local"), ROOT / "templates")
    right, wrong = _DnsStub({"stackgen.test.": servers}), _DnsStub({})
    try:
        def run(**options: Any) -> list[tuple[str, str]]:
            result = forecast(rendered, _account(endpoint), (ZoneDelegated,), options=options)
            return _of(result, "F301")

        [(severity, _)] = run()  # no flag: not checked, and said so
        assert severity == "info"
        assert run(public_dns=True, dns_servers=[right.address]) == []
        [(severity, message)] = run(public_dns=True, dns_servers=[wrong.address])
        assert severity == "error" and "public DNS knows no NS records for it" in message
        silent = ("127.0.0.1", wrong.address[1] + 1 if wrong.address[1] < 65535 else 1)
        [(severity, message)] = run(public_dns=True, dns_servers=[silent])
        assert severity == "warning" and "public DNS could not be asked" in message
    finally:
        right.close()
        wrong.close()


def test_the_ecs_service_linked_role_is_checked_and_created_on_request(
        endpoint: Endpoint, aws: Any) -> None:
    """Issue 27: a fresh account lacks AWSServiceRoleForECS and the first CreateCluster can
    fail while ECS makes it (cloudformation-coverage-roadmap#818): F407 says so, and
    `deploy --create-service-linked-role` creates it first."""
    from generator.deploy.connect import ensure_ecs_service_linked_role
    from generator.forecast.checks import ServiceLinkedRole
    from generator.ui import Console

    [(severity, message)] = _of(_run(_account(endpoint), "local", checks=(ServiceLinkedRole,)),
                                "F407")
    assert severity == "warning" and "AWSServiceRoleForECS" in message

    class _Aws:
        def client(self, service: str) -> Any:
            return getattr(aws, service)

    assert ensure_ecs_service_linked_role(_Aws(), Console(color=False)) is True  # type: ignore[arg-type]
    assert ensure_ecs_service_linked_role(_Aws(), Console(color=False)) is False  # type: ignore[arg-type]
    assert aws.iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]["Path"].startswith(
        "/aws-service-role/")
    assert _of(_run(_account(endpoint), "local", checks=(ServiceLinkedRole,)), "F407") == []

