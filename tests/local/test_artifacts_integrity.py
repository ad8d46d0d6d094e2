"""The artifacts bucket and what it holds are checked, never trusted (issue 22, items 3
and 5): a child template planted at its content-addressed key is detected and replaced,
uploads carry a SHA-256 checksum, the version checked is recorded, and the bucket's
settings and policy are verified on every run, a policy judged by its content."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generator.deploy.artifacts import Artifacts, bucket_name, sha256_b64
from generator.errors import AwsError

ACCOUNT = "123456789012"
BUCKET = bucket_name(ACCOUNT, "us-east-1")
ARN = f"arn:aws:s3:::{BUCKET}"
CHILD = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"


def _store(aws: Any) -> Artifacts:
    return Artifacts(aws.s3, BUCKET, "us-east-1", ACCOUNT)


def test_a_planted_child_at_its_key_is_detected_and_replaced(aws: Any) -> None:
    store = _store(aws)
    store.ensure_bucket()
    planted = CHILD + "  Backdoor:\n    Type: AWS::IAM::Role\n"
    aws.s3.put_object(Bucket=BUCKET, Key="env/ecs/abc.yaml", Body=planted.encode())

    assert store.upload("env/ecs/abc.yaml", CHILD)  # uploaded again: not kept

    assert store.replaced == ["env/ecs/abc.yaml"]
    version = store.versions["env/ecs/abc.yaml"]
    got = aws.s3.get_object(Bucket=BUCKET, Key="env/ecs/abc.yaml", VersionId=version,
                            ChecksumMode="ENABLED")
    assert got["Body"].read() == CHILD.encode()
    assert got["ChecksumSHA256"] == sha256_b64(CHILD.encode())


def test_an_intact_child_is_kept_with_its_version(aws: Any) -> None:
    store = _store(aws)
    store.ensure_bucket()
    assert store.upload("env/a.yaml", CHILD)
    first = store.versions["env/a.yaml"]
    again = _store(aws)
    assert not again.upload("env/a.yaml", CHILD)
    assert again.versions["env/a.yaml"] == first and again.replaced == []


def test_an_existing_policy_is_merged_not_replaced(aws: Any) -> None:
    aws.s3.create_bucket(Bucket=BUCKET)
    theirs = {"Sid": "AuditRead", "Effect": "Allow",
              "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/audit"},
              "Action": "s3:GetObject", "Resource": f"{ARN}/*"}
    aws.s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [theirs]}))
    _store(aws).ensure_bucket()
    kept = json.loads(aws.s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert kept[0] == theirs
    assert [s["Effect"] for s in kept] == ["Allow", "Deny"]


def test_a_statement_is_judged_by_content_not_by_its_sid(aws: Any) -> None:
    aws.s3.create_bucket(Bucket=BUCKET)
    impostor = {"Sid": "DenyInsecureTransport", "Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": f"{ARN}/*"}
    aws.s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [impostor]}))
    with pytest.raises(AwsError, match="allows everyone"):
        _store(aws).ensure_bucket()
    # A deny that is not about TLS, named like ours, does not count as ours either.
    named = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
             "Action": "s3:DeleteBucket", "Resource": ARN}
    aws.s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [named]}))
    _store(aws).ensure_bucket()
    kept = json.loads(aws.s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert kept[0] == named and len(kept) == 2
    ours = kept[1]
    assert ours["Sid"] != named["Sid"]
    assert ours["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_settings_that_drifted_are_restored_on_every_run(aws: Any) -> None:
    store = _store(aws)
    store.ensure_bucket()
    aws.s3.delete_public_access_block(Bucket=BUCKET)
    aws.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    aws.s3.delete_bucket_policy(Bucket=BUCKET)
    again = _store(aws)
    assert not again.ensure_bucket()
    assert set(again.fixed) == {"public access block", "versioning", "TLS-only bucket policy"}
    block = aws.s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert aws.s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert _store(aws).harden() == []  # nothing left to fix
