"""The nested form's artifacts bucket: owner-conditional on every call, TLS only,
encrypted, versioned and private."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from generator.deploy.artifacts import Artifacts, bucket_name, tls_only_policy
from generator.errors import AwsError
from tests.fakes.s3 import FakeS3
from tests.stubs import offline_client


def _stubbed() -> tuple[Any, Stubber]:
    s3 = offline_client("s3", "eu-west-1")
    return s3, Stubber(s3)


def test_every_call_names_the_expected_owner() -> None:
    """moto ignores ExpectedBucketOwner, so the calls are checked against the API's shape:
    the stubber fails on any call whose parameters differ from these."""
    s3, stub = _stubbed()
    bucket = bucket_name("222222222222", "eu-west-1")
    own = {"Bucket": bucket, "ExpectedBucketOwner": "222222222222"}
    stub.add_client_error("head_bucket", "404", "Not Found", 404, expected_params=own)
    stub.add_response("create_bucket", {"Location": f"/{bucket}"}, {
        "Bucket": bucket, "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
    stub.add_response("put_public_access_block", {},
                      {**own, "PublicAccessBlockConfiguration": ANY})
    stub.add_response("put_bucket_encryption", {},
                      {**own, "ServerSideEncryptionConfiguration": ANY})
    stub.add_response("put_bucket_versioning", {}, {**own, "VersioningConfiguration": ANY})
    stub.add_response("put_bucket_policy", {},
                      {**own, "Policy": json.dumps(tls_only_policy(bucket, "eu-west-1"))})
    stub.add_client_error("get_object", "NoSuchKey", "Not Found", 404,
                          expected_params={**own, "Key": "k", "ChecksumMode": "ENABLED"})
    stub.add_response("put_object", {"ETag": '"e"', "VersionId": "v1"},
                      {**own, "Key": "k", "Body": b"a: 1\n", "ContentType": "application/x-yaml",
                       "ChecksumAlgorithm": "SHA256", "ChecksumSHA256": ANY})
    stub.add_response("list_object_versions", {"Versions": [{"Key": "k", "VersionId": "v1"}]},
                      {**own, "Prefix": "k"})
    stub.add_response("delete_objects", {"Deleted": [{"Key": "k", "VersionId": "v1"}]},
                      {**own, "Delete": {"Objects": [{"Key": "k", "VersionId": "v1"}]}})
    with stub:
        store = Artifacts(s3, bucket, "eu-west-1", "222222222222")
        assert store.ensure_bucket()
        assert store.upload("k", "a: 1\n")
        assert store.purge("k") == 1
    stub.assert_no_pending_responses()


def test_a_bucket_of_that_name_owned_by_another_account_is_refused() -> None:
    """S3 answers 403 when ExpectedBucketOwner does not match: nothing is uploaded."""
    s3, stub = _stubbed()
    stub.add_client_error("head_bucket", "403", "Forbidden", 403,
                          expected_params={"Bucket": "b", "ExpectedBucketOwner": "222222222222"})
    with stub, pytest.raises(AwsError, match="not owned by account 222222222222"):
        Artifacts(s3, "b", "eu-west-1", "222222222222").ensure_bucket()


class SettingsReadTogether(FakeS3):
    """Each read of a bucket setting answers only once all four are asked: serial reads
    would wait here (and break the barrier) on the first."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(4, timeout=2)

    def _together(self) -> None:
        self.barrier.wait()

    def get_public_access_block(self, Bucket: str, **kw: Any) -> Any:
        self._together()
        return super().get_public_access_block(Bucket, **kw)

    def get_bucket_encryption(self, Bucket: str, **kw: Any) -> Any:
        self._together()
        return super().get_bucket_encryption(Bucket, **kw)

    def get_bucket_versioning(self, Bucket: str, **kw: Any) -> Any:
        self._together()
        return super().get_bucket_versioning(Bucket, **kw)

    def get_bucket_policy(self, Bucket: str, **kw: Any) -> Any:
        self._together()
        return super().get_bucket_policy(Bucket, **kw)


def test_an_existing_buckets_settings_are_read_side_by_side_and_drift_still_fixed() -> None:
    """Issue 28: the four reads were four round trips in a row before every deploy's lock."""
    s3 = SettingsReadTogether()
    s3.create_bucket(Bucket="b")
    s3.put_public_access_block(Bucket="b", PublicAccessBlockConfiguration=dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
        True))
    s3.put_bucket_policy(Bucket="b", Policy=json.dumps(tls_only_policy("b", "eu-west-1")))
    store = Artifacts(s3, "b", "eu-west-1", "222222222222")
    assert not store.ensure_bucket()
    assert store.fixed == ["versioning"]  # the one that drifted, set; the rest kept
    assert s3.buckets["b"]["versioning"]["VersioningConfiguration"] == {"Status": "Enabled"}
    s3.barrier.reset()
    assert not store.ensure_bucket() and store.fixed == []
