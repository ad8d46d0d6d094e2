"""Each fix of generator/local/compat/, seen on our endpoint and missing on bare moto.

Every test runs twice: against the local endpoint (the fix must work) and
against moto's server as shipped (the bug must still be there). The day a
"bare" case fails, moto has fixed that bug and the fix can be dropped.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from generator.local.manager import Endpoint
from tests.conftest import clients, reset

FLAVOURS = ["fixed", "bare"]


@pytest.fixture(params=FLAVOURS)
def target(request: pytest.FixtureRequest, endpoint: Endpoint, bare_endpoint: str) -> tuple[Any, bool]:
    url = endpoint.url if request.param == "fixed" else bare_endpoint
    reset(url)
    return clients(url), request.param == "fixed"


def _create_via_change_set(c: Any, name: str, template: dict[str, Any] | str,
                           params: dict[str, str] | None = None) -> dict[str, Any]:
    body = template if isinstance(template, str) else json.dumps(template)
    cs = c.cloudformation.create_change_set(
        StackName=name, ChangeSetName="cs1", ChangeSetType="CREATE", TemplateBody=body,
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (params or {}).items()])
    c.cloudformation.execute_change_set(ChangeSetName=cs["Id"])
    stack: dict[str, Any] = c.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    return stack


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


WAIT = {"Type": "AWS::CloudFormation::WaitConditionHandle"}


def test_change_set_publishes_outputs_and_exports(target: tuple[Any, bool]) -> None:
    c, fixed = target
    template = {"Resources": {"Handle": WAIT}, "Outputs": {
        "Answer": {"Value": "42", "Export": {"Name": "the-answer"}}}}
    stack = _create_via_change_set(c, "outputs", template)
    assert (_outputs(stack) == {"Answer": "42"}) is fixed
    exports = c.cloudformation.list_exports()["Exports"]
    assert ([e["Name"] for e in exports] == ["the-answer"]) is fixed


def test_list_parameters_echo_as_sent(target: tuple[Any, bool]) -> None:
    c, fixed = target
    template = {"Parameters": {"Zones": {"Type": "CommaDelimitedList"}},
                "Resources": {"Handle": WAIT}}
    stack = _create_via_change_set(c, "params", template, {"Zones": "a,b"})
    assert (stack["Parameters"][0]["ParameterValue"] == "a,b") is fixed


def _skipped_types_template() -> dict[str, Any]:
    return {
        "Resources": {
            "Cert": {"Type": "AWS::CertificateManager::Certificate",
                     "Properties": {"DomainName": "app.stackgen.test", "ValidationMethod": "DNS"}},
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
                "GenerateSecretString": {"SecretStringTemplate": '{"username": "app"}',
                                         "GenerateStringKey": "password",
                                         "PasswordLength": 24}}},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
                "Namespace": "AWS/ECS", "MetricName": "CPUUtilization", "Statistic": "Average",
                "Period": 60, "EvaluationPeriods": 3, "Threshold": 90,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "Dimensions": [{"Name": "ClusterName", "Value": "c"}]}},
        },
        "Outputs": {"CertArn": {"Value": {"Ref": "Cert"}},
                    "SecretArn": {"Value": {"Ref": "Secret"}},
                    "AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}}},
    }


def test_skipped_types_become_real_resources(target: tuple[Any, bool]) -> None:
    c, fixed = target
    # the certificate validates through a zone of the account (see test_local_emulation)
    c.route53.create_hosted_zone(Name="stackgen.test.", CallerReference="types")
    try:
        stack = _create_via_change_set(c, "types", _skipped_types_template())
        outputs = _outputs(stack)
    except (ClientError, BotoCoreError):  # bare moto fails on GetAtt Alarm.Arn
        outputs = {}
    certs = c.acm.list_certificates()["CertificateSummaryList"]
    assert (len(certs) == 1 and outputs.get("CertArn") == certs[0]["CertificateArn"]) is fixed
    if fixed:
        assert c.acm.describe_certificate(CertificateArn=certs[0]["CertificateArn"])[
            "Certificate"]["Status"] == "ISSUED"
        secret = json.loads(c.secretsmanager.get_secret_value(
            SecretId=outputs["SecretArn"])["SecretString"])
        assert secret["username"] == "app" and len(secret["password"]) == 24
        assert c.cloudwatch.describe_alarms()["MetricAlarms"][0]["AlarmArn"] == outputs["AlarmArn"]
    else:
        assert c.secretsmanager.list_secrets()["SecretList"] == []
        assert c.cloudwatch.describe_alarms()["MetricAlarms"] == []


def _scaling_template() -> dict[str, Any]:
    return {
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "c1"}},
            "TaskDef": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "Family": "f", "ContainerDefinitions": [
                    {"Name": "web", "Image": "nginx", "Memory": 128}]}},
            "Service": {"Type": "AWS::ECS::Service", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDef"},
                # no instance joins this cluster: a task could not be placed
                "DesiredCount": 0}},
            "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
                "ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount",
                "ResourceId": {"Fn::Sub": "service/${Cluster}/${Service.Name}"},
                "MinCapacity": 1, "MaxCapacity": 4}},
            "Policy": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
                "PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": "Target"},
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 60,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}},
            "Lt": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
                "LaunchTemplateData": {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}}},
            "Asg": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
                "MinSize": "1", "MaxSize": "3", "DesiredCapacity": "1",
                "AvailabilityZones": ["us-east-1a"],
                "LaunchTemplate": {"LaunchTemplateId": {"Ref": "Lt"},
                                   "Version": {"Fn::GetAtt": ["Lt", "LatestVersionNumber"]}}}},
            "AsgPolicy": {"Type": "AWS::AutoScaling::ScalingPolicy", "Properties": {
                "AutoScalingGroupName": {"Ref": "Asg"}, "PolicyType": "TargetTrackingScaling",
                "TargetTrackingConfiguration": {
                    "TargetValue": 50, "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ASGAverageCPUUtilization"}}}},
            "Provider": {"Type": "AWS::ECS::CapacityProvider", "Properties": {
                "AutoScalingGroupProvider": {
                    "AutoScalingGroupArn": {"Ref": "Asg"},
                    "ManagedScaling": {"Status": "ENABLED", "TargetCapacity": 90}}}},
            "Association": {"Type": "AWS::ECS::ClusterCapacityProviderAssociations",
                            "Properties": {
                                "Cluster": {"Ref": "Cluster"},
                                "CapacityProviders": [{"Ref": "Provider"}],
                                "DefaultCapacityProviderStrategy": [
                                    {"CapacityProvider": {"Ref": "Provider"}, "Weight": 1}]}},
        },
    }


def test_scaling_and_capacity_types_become_real_resources(target: tuple[Any, bool]) -> None:
    c, fixed = target
    _create_via_change_set(c, "scaling", _scaling_template())
    targets = c.application_autoscaling.describe_scalable_targets(
        ServiceNamespace="ecs")["ScalableTargets"]
    assert ([(t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(1, 4)]) is fixed
    policies = c.application_autoscaling.describe_scaling_policies(
        ServiceNamespace="ecs")["ScalingPolicies"]
    assert ([p["PolicyName"] for p in policies] == ["cpu"]) is fixed
    asg_policies = c.autoscaling.describe_policies()["ScalingPolicies"]
    assert ([p["PolicyType"] for p in asg_policies] == ["TargetTrackingScaling"]) is fixed
    cluster = c.ecs.describe_clusters(clusters=["c1"])["clusters"][0]
    assert (len(cluster.get("capacityProviders") or []) == 1) is fixed
    if fixed:
        provider = c.ecs.describe_capacity_providers(
            capacityProviders=cluster["capacityProviders"])["capacityProviders"][0]
        managed = provider["autoScalingGroupProvider"]["managedScaling"]
        assert managed["status"] == "ENABLED" and managed["targetCapacity"] == 90


def test_rds_managed_master_password_has_a_secret(target: tuple[Any, bool]) -> None:
    c, fixed = target
    template = {"Resources": {"Db": {"Type": "AWS::RDS::DBInstance", "Properties": {
        "Engine": "postgres", "DBInstanceClass": "db.t3.micro", "AllocatedStorage": "20",
        "MasterUsername": "app", "ManageMasterUserPassword": True}}},
        "Outputs": {"SecretArn": {"Value": {"Fn::GetAtt": ["Db", "MasterUserSecret.SecretArn"]}}}}
    try:
        outputs = _outputs(_create_via_change_set(c, "db", template))
    except (ClientError, BotoCoreError):
        outputs = {}
    db = c.rds.describe_db_instances()["DBInstances"][0]
    assert ("MasterUserSecret" in db) is fixed
    assert (outputs.get("SecretArn", "").startswith("arn:aws:secretsmanager:")) is fixed
    # Created directly, as nested children are, the output is validated up front.
    try:
        c.cloudformation.create_stack(StackName="db2", TemplateBody=json.dumps(template))
        created = True
    except ClientError:
        created = False
    assert created is fixed


def test_elbv2_full_names_for_metrics(target: tuple[Any, bool]) -> None:
    c, fixed = target
    vpc = c.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in c.ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    template = {"Resources": {
        "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
               "Properties": {"Subnets": subnets}},
        "Tg": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
               "Properties": {"VpcId": vpc, "Port": 80, "Protocol": "HTTP"}}},
        "Outputs": {"Label": {"Value": {
            "Fn::Sub": "${Lb.LoadBalancerFullName}/${Tg.TargetGroupFullName}"}}}}
    try:
        outputs = _outputs(_create_via_change_set(c, "lb", template))
    except (ClientError, BotoCoreError):
        outputs = {}
    label = outputs.get("Label", "")
    assert (label.startswith("app/") and "/targetgroup/" in label) is fixed


def test_stack_with_route_tables_deletes(target: tuple[Any, bool]) -> None:
    c, fixed = target
    template = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
        "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}}}}
    _create_via_change_set(c, "net", template)
    try:
        c.cloudformation.delete_stack(StackName="net")
        deleted = True
    except ClientError:
        deleted = False
    assert deleted is fixed
    vpcs = [v for v in c.ec2.describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.9.0.0/16"]
    assert (vpcs == []) is fixed


def test_nested_stack_outputs_by_getatt(target: tuple[Any, bool]) -> None:
    c, fixed = target
    c.s3.create_bucket(Bucket="artifacts")
    child = {"Resources": {"Handle": WAIT}, "Outputs": {"Color": {"Value": "blue"}}}
    c.s3.put_object(Bucket="artifacts", Key="child.json", Body=json.dumps(child).encode())
    root = {"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {
        "TemplateURL": "https://artifacts.s3.us-east-1.amazonaws.com/child.json"}}},
        "Outputs": {"ChildColor": {"Value": {"Fn::GetAtt": ["Child", "Outputs.Color"]}}}}
    try:
        outputs = _outputs(_create_via_change_set(c, "root", root))
    except (ClientError, BotoCoreError):
        outputs = {}
    assert (outputs == {"ChildColor": "blue"}) is fixed


def test_endpoint_binds_loopback_only(endpoint: Endpoint) -> None:
    """The server's listening socket is on 127.0.0.1, not on every interface."""
    port_hex = f"{endpoint.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            if state == "0A" and local.endswith(":" + port_hex):
                listening.append(local.split(":")[0])
    assert listening == ["0100007F"], listening
    time.sleep(0)  # keep the fixture alive until here


def test_termination_protection_can_be_changed(target: tuple[Any, bool]) -> None:
    c, fixed = target
    _create_via_change_set(c, "protected", {"Resources": {"Handle": WAIT}})
    with contextlib.suppress(ClientError, BotoCoreError, ResponseParserError):
        c.cloudformation.update_termination_protection(StackName="protected",
                                                       EnableTerminationProtection=True)
    stack = c.cloudformation.describe_stacks(StackName="protected")["Stacks"][0]
    assert bool(stack.get("EnableTerminationProtection")) is fixed


def test_s3_tls_only_bucket_policy_lets_requests_through(target: tuple[Any, bool]) -> None:
    """AWS applies a Deny on aws:SecureTransport false only to plain-HTTP requests; bare
    moto denies every object request under it. An unconditional Deny still denies."""
    c, fixed = target
    c.s3.create_bucket(Bucket="tls-only")
    arn = "arn:aws:s3:::tls-only"
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"]}
    tls_only = {**deny, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    c.s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [tls_only]}))
    allowed = True
    try:
        c.s3.put_object(Bucket="tls-only", Key="k", Body=b"x")
    except ClientError:
        allowed = False
    assert allowed is fixed
    c.s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{**deny, "Action": "s3:PutObject"}]}))
    with pytest.raises(ClientError):
        c.s3.put_object(Bucket="tls-only", Key="k2", Body=b"x")


def test_run_task_sizes_a_task_by_its_task_level_memory(target: tuple[Any, bool]) -> None:
    """AWS runs an EC2 task whose memory is set at the task level only (RegisterTaskDefinition,
    ContainerDefinition ``memory``: "you must specify either a task-level memory value or a
    container-level memory value"); bare moto adds up the containers' None and answers 500."""
    c, fixed = target
    c.ecs.create_cluster(clusterName="c1")
    image = c.ec2.describe_images()["Images"][0]["ImageId"]
    instance = c.ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                   InstanceType="t3.micro")["Instances"][0]
    c.ecs.register_container_instance(cluster="c1", instanceIdentityDocument=json.dumps(
        {"instanceId": instance["InstanceId"], "region": "us-east-1"}))
    td = c.ecs.register_task_definition(
        family="migrate", requiresCompatibilities=["EC2"], cpu="256", memory="512",
        containerDefinitions=[{"name": "migrate", "image": "app:v1", "essential": True,
                               "command": ["npm", "run", "migrate"]}],
    )["taskDefinition"]["taskDefinitionArn"]
    try:
        started = c.ecs.run_task(cluster="c1", taskDefinition=td, launchType="EC2")
    except (ClientError, BotoCoreError):
        assert not fixed
        return
    assert fixed
    assert len(started["tasks"]) == 1 and not started["failures"]
    # The task's memory is taken from the instance like a container's would be.
    free = c.ecs.describe_container_instances(cluster="c1", containerInstances=[
        started["tasks"][0]["containerInstanceArn"]])["containerInstances"][0]
    remaining = {r["name"]: r.get("integerValue") for r in free["remainingResources"]}
    registered = {r["name"]: r.get("integerValue") for r in free["registeredResources"]}
    assert registered["MEMORY"] - remaining["MEMORY"] == 512


def test_scheduler_schedules_become_real_resources(target: tuple[Any, bool]) -> None:
    """ecs.jobs run on an EventBridge Scheduler schedule; moto's scheduler API has
    schedules, its CloudFormation skipped the type (and GetAtt Arn failed)."""
    c, fixed = target
    template = {"Resources": {"Nightly": {"Type": "AWS::Scheduler::Schedule", "Properties": {
        "Name": "app-nightly", "ScheduleExpression": "cron(0 3 * * ? *)",
        "ScheduleExpressionTimezone": "UTC", "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {"Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c1",
                   "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
                   "EcsParameters": {"TaskDefinitionArn":
                                     "arn:aws:ecs:us-east-1:123456789012:task-definition/nightly:1",
                                     "LaunchType": "EC2", "TaskCount": 1}}}}},
        "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Nightly", "Arn"]}}}}
    try:
        stack = _create_via_change_set(c, "jobs", template)
    except (ClientError, BotoCoreError):
        assert not fixed
        return
    names = [s["Name"] for s in c.scheduler.list_schedules()["Schedules"]]
    assert (names == ["app-nightly"]) is fixed
    assert (_outputs(stack).get("Arn", "").endswith(":schedule/default/app-nightly")) is fixed
    if fixed:
        got = c.scheduler.get_schedule(Name="app-nightly")
        assert got["ScheduleExpression"] == "cron(0 3 * * ? *)"
        assert got["Target"]["EcsParameters"]["TaskCount"] == 1
        c.cloudformation.delete_stack(StackName="jobs")
        assert c.scheduler.list_schedules()["Schedules"] == []


def test_a_stopped_task_gives_its_resources_back(target: tuple[Any, bool]) -> None:
    """A one-off task that ran to STOPPED frees its cpu and memory on the instance
    (ContainerInstance ``remainingResources``: what is not allocated to tasks), so the
    next migration has room; bare moto keeps them reserved for ever."""
    c, fixed = target
    c.ecs.create_cluster(clusterName="c1")
    image = c.ec2.describe_images()["Images"][0]["ImageId"]
    instance = c.ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                   InstanceType="t3.micro")["Instances"][0]
    ci = c.ecs.register_container_instance(cluster="c1", instanceIdentityDocument=json.dumps(
        {"instanceId": instance["InstanceId"], "region": "us-east-1"}))["containerInstance"]
    memory = next(r["integerValue"] for r in ci["registeredResources"] if r["name"] == "MEMORY")
    td = c.ecs.register_task_definition(
        family="migrate", requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "migrate", "image": "app:v1", "essential": True,
                               "memory": memory}],  # the whole instance: one at a time
    )["taskDefinition"]["taskDefinitionArn"]
    first = c.ecs.run_task(cluster="c1", taskDefinition=td, launchType="EC2")["tasks"][0]
    status = ""
    for _ in range(10):  # moto moves a task one step along its lifecycle per describe
        status = c.ecs.describe_tasks(cluster="c1", tasks=[first["taskArn"]])["tasks"][0][
            "lastStatus"]
        if status == "STOPPED":
            break
    assert status == "STOPPED"
    second = c.ecs.run_task(cluster="c1", taskDefinition=td, launchType="EC2")
    assert (len(second["tasks"]) == 1) is fixed
    if fixed:  # stopping it by hand afterwards gives nothing back twice
        c.ecs.stop_task(cluster="c1", task=first["taskArn"], reason="done")
        free = c.ecs.describe_container_instances(cluster="c1", containerInstances=[
            ci["containerInstanceArn"]])["containerInstances"][0]["remainingResources"]
        assert next(r["integerValue"] for r in free if r["name"] == "MEMORY") == 0


def test_certificates_made_with_keys_made_ahead_each_have_their_own(endpoint: Endpoint) -> None:
    """Issue 28: a certificate's RSA key is made ahead of its request (compat/acm_keys.py);
    each certificate still gets a 2048-bit key that no other was given, in the cert
    stack's create as in RequestCertificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    reset(endpoint.url)
    c = clients(endpoint.url)
    arns = [c.acm.request_certificate(DomainName=f"app{i}.stackgen.test")["CertificateArn"]
            for i in range(3)]
    stack = _create_via_change_set(c, "certs", {"Resources": {"Cert": {
        "Type": "AWS::CertificateManager::Certificate",
        "Properties": {"DomainName": "stackgen.test", "ValidationMethod": "EMAIL"}}}})
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    arns.append(c.cloudformation.describe_stack_resource(
        StackName="certs", LogicalResourceId="Cert")["StackResourceDetail"]["PhysicalResourceId"])
    moduli = set()
    for arn in arns:
        pem = c.acm.get_certificate(CertificateArn=arn)["Certificate"]
        key = x509.load_pem_x509_certificate(pem.encode()).public_key()
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
        assert key.public_numbers().e == 65537
        moduli.add(key.public_numbers().n)
    assert len(moduli) == len(arns) == 4
