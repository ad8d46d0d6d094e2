"""S3 in memory, as far as the env lock and the artifacts bucket use it: buckets with
their settings, objects with ETags, LastModified on a clock the test moves (S3 keeps whole
seconds), conditional writes and deletes (If-None-Match: *, If-Match) answering as S3 does
(412 PreconditionFailed; 404 NoSuchKey for If-Match on a missing key)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from botocore.exceptions import ClientError

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _error(code: str, message: str, operation: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


@dataclass
class Object:
    body: bytes
    etag: str
    modified: datetime


class FakeS3:
    def __init__(self) -> None:
        self.now = T0
        self.buckets: dict[str, dict[str, Any]] = {}
        self.objects: dict[tuple[str, str], Object] = {}
        self._writes = 0

    def advance(self, seconds: float) -> None:
        """Time passes (for S3's clock: LastModified and the Date header)."""
        self.now += timedelta(seconds=seconds)

    def _headers(self) -> dict[str, Any]:
        return {"HTTPStatusCode": 200, "HTTPHeaders": {"date": format_datetime(self.now, usegmt=True)}}

    def _bucket(self, name: str, operation: str) -> dict[str, Any]:
        if name not in self.buckets:
            raise _error("NoSuchBucket", "The specified bucket does not exist", operation, 404)
        return self.buckets[name]

    # --- buckets -------------------------------------------------------------------------

    def head_bucket(self, Bucket: str, **_: Any) -> Any:
        if Bucket not in self.buckets:
            raise _error("404", "Not Found", "HeadBucket", 404)
        return {"ResponseMetadata": self._headers()}

    def create_bucket(self, Bucket: str, **_: Any) -> Any:
        if Bucket in self.buckets:
            raise _error("BucketAlreadyOwnedByYou", "owned by you", "CreateBucket", 409)
        self.buckets[Bucket] = {}
        return {"Location": f"/{Bucket}"}

    def _setting(self, name: str, operation: str, Bucket: str, **value: Any) -> Any:
        value.pop("ExpectedBucketOwner", None)
        value.pop("Key", None)
        self._bucket(Bucket, operation)[name] = value
        return {}

    def put_public_access_block(self, **kw: Any) -> Any:
        return self._setting("public_access_block", "PutPublicAccessBlock", **kw)

    def put_bucket_encryption(self, **kw: Any) -> Any:
        return self._setting("encryption", "PutBucketEncryption", **kw)

    def put_bucket_versioning(self, **kw: Any) -> Any:
        return self._setting("versioning", "PutBucketVersioning", **kw)

    def put_bucket_policy(self, **kw: Any) -> Any:
        return self._setting("policy", "PutBucketPolicy", **kw)

    def get_bucket_policy(self, Bucket: str, **_: Any) -> Any:
        policy = self._bucket(Bucket, "GetBucketPolicy").get("policy")
        if policy is None:
            raise _error("NoSuchBucketPolicy", "The bucket policy does not exist",
                         "GetBucketPolicy", 404)
        return {"Policy": policy["Policy"]}

    def get_public_access_block(self, Bucket: str, **_: Any) -> Any:
        block = self._bucket(Bucket, "GetPublicAccessBlock").get("public_access_block")
        if block is None:
            raise _error("NoSuchPublicAccessBlockConfiguration", "The public access block "
                         "configuration was not found", "GetPublicAccessBlock", 404)
        return {"PublicAccessBlockConfiguration": block["PublicAccessBlockConfiguration"]}

    def get_bucket_encryption(self, Bucket: str, **_: Any) -> Any:
        # Since 2023-01 every bucket has SSE-S3 by default (S3 user guide, "Default encryption").
        sse = self._bucket(Bucket, "GetBucketEncryption").get("encryption") or {
            "ServerSideEncryptionConfiguration": {
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}
        return {"ServerSideEncryptionConfiguration": sse["ServerSideEncryptionConfiguration"]}

    def get_bucket_versioning(self, Bucket: str, **_: Any) -> Any:
        versioning = self._bucket(Bucket, "GetBucketVersioning").get("versioning")
        return dict(versioning["VersioningConfiguration"]) if versioning else {}

    # --- objects -------------------------------------------------------------------------

    def _check(self, Bucket: str, Key: str, operation: str, IfMatch: str | None = None,
               IfNoneMatch: str | None = None) -> Object | None:
        self._bucket(Bucket, operation)
        current = self.objects.get((Bucket, Key))
        if IfNoneMatch == "*" and current is not None:
            raise _error("PreconditionFailed", "At least one of the pre-conditions you "
                         "specified did not hold", operation, 412)
        if IfMatch is not None:
            if current is None:
                raise _error("NoSuchKey", "The specified key does not exist.", operation, 404)
            if current.etag != IfMatch:
                raise _error("PreconditionFailed", "At least one of the pre-conditions you "
                             "specified did not hold", operation, 412)
        return current

    def put_object(self, Bucket: str, Key: str, Body: bytes, IfMatch: str | None = None,
                   IfNoneMatch: str | None = None, **_: Any) -> Any:
        self._check(Bucket, Key, "PutObject", IfMatch, IfNoneMatch)
        self._writes += 1
        etag = f'"{hashlib.md5(Body + str(self._writes).encode()).hexdigest()}"'
        self.objects[(Bucket, Key)] = Object(Body, etag, self.now.replace(microsecond=0))
        return {"ETag": etag, "ResponseMetadata": self._headers()}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> Any:
        self._bucket(Bucket, "GetObject")
        current = self.objects.get((Bucket, Key))
        if current is None:
            raise _error("NoSuchKey", "The specified key does not exist.", "GetObject", 404)
        return {"Body": io.BytesIO(current.body), "ETag": current.etag,
                "LastModified": current.modified, "ResponseMetadata": self._headers()}

    def delete_object(self, Bucket: str, Key: str, IfMatch: str | None = None, **_: Any) -> Any:
        self._check(Bucket, Key, "DeleteObject", IfMatch)
        self.objects.pop((Bucket, Key), None)
        return {"ResponseMetadata": self._headers()}
