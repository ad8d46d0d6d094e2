"""The CloudFormation document readers that lint rules and the review share."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator import cfndoc
from generator.lint import engine
from generator.yamlsrc import load_cfn

TEMPLATE = load_cfn("""
Parameters:
  VpcId: {Type: String}
Resources:
  AlbGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      VpcId: !Ref VpcId
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}
        - not a rule
  AppGroup:
    Type: AWS::EC2::SecurityGroup
    Properties: {VpcId: !Ref VpcId}
  AppFromAlb:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt AppGroup.GroupId
      SourceSecurityGroupId: !Ref AlbGroup
      IpProtocol: tcp
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: a
          PolicyDocument:
            Statement: {Effect: Allow, Action: s3:GetObject, Resource: !Sub "${Bucket.Arn}/*"}
        - PolicyName: b
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: logs:PutLogEvents, Resource: "*"}
              - {Effect: Deny, Action: "*", Resource: !Sub "arn:${AWS::Partition}:s3:::${!Literal}"}
  Bucket: {Type: AWS::S3::Bucket}
Outputs:
  RoleArn: {Value: !GetAtt Role.Arn}
  Joined: {Value: !Join [",", [!Ref AlbGroup, !Ref AppGroup]]}
  Url: {Value: !Sub ["https://${Host}/${Bucket}", {Host: !GetAtt Role.Arn}]}
""")


def test_resources_by_type_in_template_order() -> None:
    assert [n for n, _ in cfndoc.resources(TEMPLATE)] == [
        "AlbGroup", "AppGroup", "AppFromAlb", "Role", "Bucket"]
    assert [n for n, _ in cfndoc.resources(TEMPLATE, "AWS::EC2::SecurityGroup")] == [
        "AlbGroup", "AppGroup"]
    assert cfndoc.props(dict(TEMPLATE["Resources"]["Bucket"])) == {}


def test_referenced_and_references_read_ref_and_getatt() -> None:
    assert cfndoc.referenced({"Ref": "VpcId"}) == "VpcId"
    assert cfndoc.referenced({"Fn::GetAtt": ["Role", "Arn"]}) == "Role"
    assert cfndoc.referenced({"Fn::GetAtt": "Role.Arn"}) == "Role"  # JSON's string form
    assert cfndoc.referenced("literal") is None
    outputs = TEMPLATE["Outputs"]
    assert cfndoc.references(outputs["Joined"]["Value"]) == {"AlbGroup", "AppGroup"}
    # Sub variables are not Ref/GetAtt: references() leaves them to refers_to().
    assert cfndoc.references(outputs["Url"]["Value"]) == {"Role"}


def test_sub_variables_and_refers_to() -> None:
    url = TEMPLATE["Outputs"]["Url"]["Value"]
    assert cfndoc.sub_variables(url["Fn::Sub"]) == {"Host", "Bucket"}
    assert cfndoc.sub_variables("arn:${AWS::Partition}:s3:::${!Literal}/${Bucket.Arn}") == {
        "AWS::Partition", "Bucket"}
    assert cfndoc.refers_to(url, {"Bucket"})  # ${Bucket} in the string
    assert cfndoc.refers_to(url, {"Role"})  # GetAtt in the variables
    assert not cfndoc.refers_to(url, {"AppGroup"})
    assert not cfndoc.refers_to({"Fn::Sub": "${!Bucket}"}, {"Bucket"})  # a literal
    assert cfndoc.refers_to([{"Ref": "VpcId"}], {"VpcId"})


def test_resolve_refs_replaces_parameters_only() -> None:
    props = TEMPLATE["Resources"]["AppFromAlb"]["Properties"]
    resolved = cfndoc.resolve_refs(props, {"AlbGroup": "sg-1"})
    assert resolved["SourceSecurityGroupId"] == "sg-1"
    assert resolved["GroupId"] == {"Fn::GetAtt": ["AppGroup", "GroupId"]}
    rows = {n: (t, p) for n, t, p in cfndoc.resolved_resources(TEMPLATE, {"VpcId": "vpc-1"})}
    assert rows["AppGroup"] == ("AWS::EC2::SecurityGroup", {"VpcId": "vpc-1"})
    assert rows["Bucket"] == ("AWS::S3::Bucket", {})


def test_identity_statements_walk_every_policy_with_its_path() -> None:
    role = cfndoc.props(TEMPLATE["Resources"]["Role"])
    found = cfndoc.identity_statements(role)
    assert [(path, stmt["Action"]) for path, stmt in found] == [
        (["Policies", 0, "PolicyDocument", "Statement", 0], "s3:GetObject"),  # one, not a list
        (["Policies", 1, "PolicyDocument", "Statement", 0], "logs:PutLogEvents"),
        (["Policies", 1, "PolicyDocument", "Statement", 1], "*"),
    ]
    # The trust policy is not an identity policy; a managed policy's own document is.
    assert cfndoc.identity_statements(
        {"PolicyDocument": {"Statement": [{"Effect": "Allow"}]}}) == [
        (["PolicyDocument", "Statement", 0], {"Effect": "Allow"})]
    assert cfndoc.statements(None) == []


def test_ingress_rules_inline_and_standalone_with_their_group() -> None:
    found = list(cfndoc.ingress_rules(TEMPLATE))
    assert [(r.group, r.path) for r in found] == [
        ("AlbGroup", ["Resources", "AlbGroup", "Properties", "SecurityGroupIngress", 0]),
        ("AppGroup", ["Resources", "AppFromAlb", "Properties"]),
    ]
    assert [cfndoc.is_open(r.rule) for r in found] == [True, False]
    assert cfndoc.is_open({"CidrIpv6": "::/0"})
    assert not cfndoc.is_open({"CidrIp": "10.0.0.0/8"})


@pytest.mark.parametrize(("value", "expected"), [
    (None, []), ("a", ["a"]), (["a", "b"], ["a", "b"]), ({"Ref": "X"}, [{"Ref": "X"}])])
def test_as_list(value: object, expected: list[object]) -> None:
    assert cfndoc.as_list(value) == expected


def test_a_change_in_cfndoc_invalidates_the_lint_cache(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules read templates through cfndoc.py, so it is part of what a cached lint
    result depends on."""
    package = tmp_path / "generator"
    shutil.copytree(engine.RULES_DIR, package / "lint" / "rules")
    for name in ("secrets.py", "cfndoc.py"):
        shutil.copy(engine.RULES_DIR.parent.parent / name, package / name)
    monkeypatch.setattr(engine, "RULES_DIR", package / "lint" / "rules")
    before = engine.rules_fingerprint()
    (package / "cfndoc.py").write_text((package / "cfndoc.py").read_text() + "\n# changed\n")
    assert engine.rules_fingerprint() != before
