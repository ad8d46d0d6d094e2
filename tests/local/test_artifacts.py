"""The artifacts bucket on the local endpoint: owner-conditional, TLS only, encrypted,
versioned and private."""

from __future__ import annotations

import json
from typing import Any

from generator.deploy.artifacts import TLS_ONLY_SID, Artifacts, bucket_name, tls_only_policy

ACCOUNT = "123456789012"  # the account moto answers for
BUCKET = bucket_name(ACCOUNT, "us-east-1")


def test_bucket_is_created_tls_only_encrypted_versioned_private(aws: Any) -> None:
    """On the local endpoint: moto accepts ExpectedBucketOwner on every call we make."""
    store = Artifacts(aws.s3, BUCKET, "us-east-1", ACCOUNT)
    assert store.ensure_bucket()
    [statement] = json.loads(aws.s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert statement["Sid"] == TLS_ONLY_SID and statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(statement["Resource"]) == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}
    rules = aws.s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert aws.s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    block = aws.s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert store.upload("env/a.yaml", "a: 1\n") and not store.upload("env/a.yaml", "a: 1\n")
    assert store.purge("env/") == 1


def test_a_bucket_made_before_the_policy_gets_it(aws: Any) -> None:
    aws.s3.create_bucket(Bucket=BUCKET)
    assert not Artifacts(aws.s3, BUCKET, "us-east-1", ACCOUNT).ensure_bucket()
    policy = json.loads(aws.s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert policy == tls_only_policy(BUCKET, "us-east-1")

