"""The artifacts bucket of the nested form: child templates under content-addressed keys.

The bucket is created on first use, encrypted, versioned and closed to the
public. A key names its template's SHA-256, so an unchanged child is never
uploaded again and a root template always points at exactly what it reviewed.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from generator.errors import AwsError


def bucket_name(account: str, region: str) -> str:
    return f"stackgen-artifacts-{account}-{region}"


class Artifacts:
    def __init__(self, s3: Any, bucket: str, region: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.region = region
        self.uploaded: list[str] = []

    def ensure_bucket(self) -> bool:
        """Create the bucket unless it exists; True when created now."""
        try:
            self.s3.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise AwsError(f"artifacts bucket {self.bucket}: {exc}") from None
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self.s3.create_bucket(**kwargs)
        self.s3.put_public_access_block(Bucket=self.bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        self.s3.put_bucket_encryption(Bucket=self.bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        self.s3.put_bucket_versioning(Bucket=self.bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        return True

    def upload(self, key: str, body: str) -> bool:
        """Put ``body`` at ``key`` unless it is there already (the key is its hash)."""
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                raise AwsError(f"artifacts bucket {self.bucket}: {exc}") from None
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode(),
                           ContentType="application/x-yaml")
        self.uploaded.append(key)
        return True

    def purge(self, prefix: str) -> int:
        """Delete every version under ``prefix``; returns how many were deleted."""
        deleted = 0
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if doomed:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": doomed})
                deleted += len(doomed)
        return deleted
