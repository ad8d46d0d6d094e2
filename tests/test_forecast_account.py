"""`stackgen forecast`, account checks: against the local endpoint where moto answers the
API, and with botocore Stubber responses of the real API's shape where it does not."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from generator.forecast.account import FORECAST_CONFIG, Account
from generator.forecast.checks import (
    AmiArchitecture,
    CertificateIssued,
    ChangeSetValidation,
    ImagePlatform,
    InstanceTypeOffered,
    NamesFree,
    QuotaHeadroom,
    RdsOrderable,
    SecretsExist,
    ZoneDelegated,
)
from generator.forecast.model import Check
from generator.forecast.runner import Forecast, forecast
from generator.local.manager import Endpoint
from generator.params import load_env
from generator.render import render
from tests.conftest import REGION, ROOT
from tests.stubs import offline_client

ACCOUNT = "123456789012"


def _account(endpoint: Endpoint) -> Account:
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing",
                                    aws_secret_access_key="testing")
    return Account(lambda s: session.client(s, endpoint_url=endpoint.url, config=FORECAST_CONFIG),
                   ACCOUNT)


def _run(account: Account, env: str, *overrides: str,
         checks: tuple[type[Check], ...] | None = None) -> Forecast:
    rendered = render(load_env(ROOT / "params", env, overrides), ROOT / "templates")
    return forecast(rendered, account, *(() if checks is None else (checks,)))


def _of(result: Forecast, check_id: str) -> list[tuple[str, str]]:
    return [(f.severity, f.message) for f in result.findings if f.check_id == check_id]


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


def test_cli_runs_the_account_checks_on_the_env_endpoint(project: Any, endpoint: Endpoint,
                                                         aws: Any) -> None:
    from tests.conftest import aws_env, run_stackgen

    clean = run_stackgen(["--no-color", "forecast", "--env", "local", "--format", "json"],
                         cwd=project, env=aws_env(endpoint))
    assert clean.returncode == 0, clean.stderr  # what the endpoint cannot answer is info
    doc = json.loads(clean.stdout)
    assert doc["skipped"] == [] and "F405" in doc["checks"]
    assert {f["id"] for f in doc["findings"]} == {"F301", "F403", "F404", "F407", "F501"}
    assert {f["severity"] for f in doc["findings"]} == {"info", "warning"}
    result = run_stackgen(["--no-color", "forecast", "--env", "local", "--format", "json",
                           "--set", "ecs.service.deployment.min_healthy_percent=100"],
                          cwd=project, env=aws_env(endpoint))
    assert result.returncode == 1, result.stderr  # F102 is an error
    assert {f["id"] for f in json.loads(result.stdout)["findings"]} >= {"F102", "F301", "F501"}


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
