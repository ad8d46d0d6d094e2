"""The artifacts bucket of the nested form: child templates under content-addressed keys.

The bucket is created on first use, encrypted, versioned, closed to the public and
reachable over TLS only. A key names its template's SHA-256, so an unchanged child
is never uploaded again and a root template always points at exactly what it reviewed.

The bucket's name is predictable (``stackgen-artifacts-<account>-<region>``), so
anyone could create it first. Every call that takes it names the account we expect
to own it (``ExpectedBucketOwner``): S3 answers 403 instead of reading from or
writing to somebody else's bucket. CreateBucket takes no such parameter; a name
taken by another account fails there with BucketAlreadyExists, and the next call
(which carries the owner) would refuse anyway.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from generator.errors import AwsError

# aws:SecureTransport false → Deny: plain-HTTP requests are refused, whoever sends them.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit
TLS_ONLY_SID = "DenyInsecureTransport"


def bucket_name(account: str, region: str) -> str:
    return f"stackgen-artifacts-{account}-{region}"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def tls_only_policy(bucket: str, region: str) -> dict[str, Any]:
    arn = f"arn:{partition(region)}:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": TLS_ONLY_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Artifacts:
    def __init__(self, s3: Any, bucket: str, region: str, owner: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.region = region
        self.owner = owner  # the account id that must own the bucket
        self.uploaded: list[str] = []

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One S3 call on our bucket, conditional on its owner."""
        try:
            owner = {"ExpectedBucketOwner": self.owner} if self.owner else {}
            return getattr(self.s3, operation)(Bucket=self.bucket, **owner, **kwargs)
        except ClientError as exc:
            if _code(exc) in ("403", "AccessDenied"):
                raise AwsError(
                    f"artifacts bucket {self.bucket} is not owned by account {self.owner} "
                    "(or denies it access); delete or rename the bucket of that name"
                ) from None
            raise

    def ensure_bucket(self) -> bool:
        """Create the bucket unless it exists; True when created now. Either way it ends
        up with the TLS-only policy (buckets made before it existed get it too)."""
        try:
            self._call("head_bucket")
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket"):
                raise AwsError(f"artifacts bucket {self.bucket}: {exc}") from None
        else:
            if not self._has_tls_policy():
                self._call("put_bucket_policy",
                           Policy=json.dumps(tls_only_policy(self.bucket, self.region)))
            return False
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self.s3.create_bucket(**kwargs)  # CreateBucket takes no ExpectedBucketOwner
        self._call("put_public_access_block", PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        self._call("put_bucket_encryption", ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        self._call("put_bucket_versioning", VersioningConfiguration={"Status": "Enabled"})
        self._call("put_bucket_policy",
                   Policy=json.dumps(tls_only_policy(self.bucket, self.region)))
        return True

    def _has_tls_policy(self) -> bool:
        try:
            policy = json.loads(self._call("get_bucket_policy")["Policy"])
        except ClientError as exc:
            if _code(exc) == "NoSuchBucketPolicy":
                return False
            raise AwsError(f"artifacts bucket {self.bucket}: {exc}") from None
        return any(s.get("Sid") == TLS_ONLY_SID for s in policy.get("Statement", []))

    def upload(self, key: str, body: str) -> bool:
        """Put ``body`` at ``key`` unless it is there already (the key is its hash)."""
        try:
            self._call("head_object", Key=key)
            return False
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchKey"):
                raise AwsError(f"artifacts bucket {self.bucket}: {exc}") from None
        self._call("put_object", Key=key, Body=body.encode(), ContentType="application/x-yaml")
        self.uploaded.append(key)
        return True

    def purge(self, prefix: str) -> int:
        """Delete every version under ``prefix``; returns how many were deleted."""
        deleted = 0
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix,
                                       ExpectedBucketOwner=self.owner):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if doomed:
                self._call("delete_objects", Delete={"Objects": doomed})
                deleted += len(doomed)
        return deleted
