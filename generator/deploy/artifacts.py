"""The artifacts bucket of the nested form: child templates under content-addressed keys.

The bucket is created on first use, encrypted, versioned, closed to the public and
reachable over TLS only; every run checks those settings again and restores the ones
that drifted. A key names its template's SHA-256, but a key proves nothing about what
is stored under it: an existing object is read and compared byte for byte before it
is reused, anything else is replaced by an upload S3 checks against its SHA-256, and
the version checked or written is the one the root template names (versionId).

The bucket's name is predictable (``stackgen-artifacts-<account>-<region>``), so
anyone could create it first. Every call that takes it names the account we expect
to own it (``ExpectedBucketOwner``): S3 answers 403 instead of reading from or
writing to somebody else's bucket. CreateBucket takes no such parameter; a name
taken by another account fails there with BucketAlreadyExists, and the next call
(which carries the owner) would refuse anyway.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError, FlexibleChecksumError

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


PUBLIC_BLOCK = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                "RestrictPublicBuckets")


def sha256_b64(data: bytes) -> str:
    """S3's form of a SHA-256 checksum (x-amz-checksum-sha256): base64 of the digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy.get("Statement", [])
    return [s for s in (found if isinstance(found, list) else [found]) if isinstance(s, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _everyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, dict)
                                and "*" in _as_list(principal.get("AWS")))


def denies_plain_http(statement: dict[str, Any], arn: str) -> bool:
    """Whether a statement, by what it says (its Sid is only a name), denies everyone
    every S3 action on the bucket and its objects when the request is not over TLS."""
    condition = (statement.get("Condition") or {}).get("Bool") or {}
    insecure = {str(v).lower() for v in _as_list(condition.get("aws:SecureTransport", []))}
    return (statement.get("Effect") == "Deny" and _everyone(statement.get("Principal"))
            and {"s3:*", "*"} & set(_as_list(statement.get("Action")))
            and {arn, f"{arn}/*"} <= set(_as_list(statement.get("Resource")))
            and insecure == {"false"}) is True


def refuse_public(bucket: str, policy: dict[str, Any]) -> None:
    """A statement that allows everyone anything, unconditionally, is refused: the
    bucket holds what CloudFormation deploys."""
    for s in statements(policy):
        if s.get("Effect") == "Allow" and _everyone(s.get("Principal")) and \
                not s.get("Condition"):
            raise AwsError(f"artifacts bucket {bucket}: its policy allows everyone "
                           f"{s.get('Action')} (statement {s.get('Sid') or 'without a Sid'}); "
                           "remove that statement from the bucket policy")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Artifacts:
    def __init__(self, s3: Any, bucket: str, region: str, owner: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.region = region
        self.owner = owner  # the account id that must own the bucket
        self.uploaded: list[str] = []
        self.replaced: list[str] = []  # keys whose object did not hold what its key names
        self.versions: dict[str, str] = {}  # key -> the version checked or written
        self.fixed: list[str] = []  # bucket settings set by the last ensure_bucket

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
        """Create the bucket unless it exists; True when created now. Either way, on
        every run, it is checked and, where it drifted, fixed: public access blocked,
        encrypted by default, versioned, and a TLS-only statement in its policy."""
        try:
            self._call("head_bucket")
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket"):
                raise AwsError(f"artifacts bucket {self.bucket}: {exc}") from None
        else:
            self.harden()
            return False
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self.s3.create_bucket(**kwargs)  # CreateBucket takes no ExpectedBucketOwner
        self.harden(created=True)
        return True

    def harden(self, created: bool = False) -> list[str]:
        """Check each setting the bucket must have and set the ones it lacks; returns
        what was fixed. One that cannot be set is refused, naming the setting."""
        checks = [("public access block", self._public_blocked, self._block_public),
                  ("default encryption", self._encrypted, self._encrypt),
                  ("versioning", self._versioned, self._version),
                  ("TLS-only bucket policy", self._tls_only, self._merge_tls_policy)]
        held = {} if created else self.settings_held([(what, holds) for what, holds, _ in checks])
        fixed = []
        for what, _holds, fix in checks:
            if not created and held[what]:
                continue
            try:
                if created and fix == self._merge_tls_policy:  # a new bucket has no policy
                    self._call("put_bucket_policy",
                               Policy=json.dumps(tls_only_policy(self.bucket, self.region)))
                else:
                    fix()
            except (AwsError, ClientError) as exc:
                raise AwsError(f"artifacts bucket {self.bucket}: its {what} is missing and "
                               f"could not be set ({exc}); set it by hand, or allow this "
                               "role to") from None
            fixed.append(what)
        self.fixed = fixed
        return fixed

    @staticmethod
    def settings_held(checks: list[tuple[str, Callable[[], bool]]]) -> dict[str, bool]:
        """Each setting's check, all side by side: four GETs of the bucket's configuration,
        one round trip instead of four on every deploy's path before its lock (issue 28).
        Reads only (botocore's clients are thread-safe), so their order does not matter;
        an error is raised as the serial reads raised it, the first check's first."""
        with ThreadPoolExecutor(max_workers=len(checks),
                                thread_name_prefix="bucket-settings") as pool:
            futures = [(what, pool.submit(holds)) for what, holds in checks]
        return {what: future.result() for what, future in futures}

    def _read(self, operation: str, missing: tuple[str, ...]) -> Any:
        try:
            return self._call(operation)
        except ClientError as exc:
            if _code(exc) in missing:
                return None
            raise AwsError(f"artifacts bucket {self.bucket}: {exc}") from None

    def _public_blocked(self) -> bool:
        got = self._read("get_public_access_block", ("NoSuchPublicAccessBlockConfiguration",))
        config = (got or {}).get("PublicAccessBlockConfiguration", {})
        return all(config.get(k) is True for k in PUBLIC_BLOCK)

    def _block_public(self) -> None:
        self._call("put_public_access_block",
                   PublicAccessBlockConfiguration=dict.fromkeys(PUBLIC_BLOCK, True))

    def _encrypted(self) -> bool:
        got = self._read("get_bucket_encryption",
                         ("ServerSideEncryptionConfigurationNotFoundError",))
        rules = ((got or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
        return any(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
                   in ("AES256", "aws:kms", "aws:kms:dsse") for r in rules)

    def _encrypt(self) -> None:
        self._call("put_bucket_encryption", ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})

    def _versioned(self) -> bool:
        return bool((self._read("get_bucket_versioning", ()) or {}).get("Status") == "Enabled")

    def _version(self) -> None:
        self._call("put_bucket_versioning", VersioningConfiguration={"Status": "Enabled"})

    def _policy(self) -> dict[str, Any] | None:
        got = self._read("get_bucket_policy", ("NoSuchBucketPolicy",))
        if got is None:
            return None
        policy: dict[str, Any] = json.loads(got["Policy"])
        return policy

    def _tls_only(self) -> bool:
        policy = self._policy()
        if policy is None:
            return False
        refuse_public(self.bucket, policy)
        arn = f"arn:{partition(self.region)}:s3:::{self.bucket}"
        return any(denies_plain_http(s, arn) for s in statements(policy))

    def _merge_tls_policy(self) -> None:
        """Add the TLS-only statement to the bucket's policy, keeping every statement it
        holds (PutBucketPolicy replaces the whole policy)."""
        policy = self._policy() or {"Version": "2012-10-17", "Statement": []}
        refuse_public(self.bucket, policy)
        ours = tls_only_policy(self.bucket, self.region)["Statement"][0]
        kept = statements(policy)
        taken = {s.get("Sid") for s in kept}
        while ours["Sid"] in taken:  # a Sid is only a name: another statement may have it
            ours["Sid"] += "Stackgen"
        merged = {**policy, "Statement": [*kept, ours]}
        self._call("put_bucket_policy", Policy=json.dumps(merged))

    def upload(self, key: str, body: str) -> bool:
        """Put ``body`` at ``key`` unless the object there holds exactly it (the key is its
        hash, but anyone who may write to the bucket could have put something else there):
        its content is read and compared, never trusted for its key. Uploaded with a
        SHA-256 checksum S3 verifies; the version checked or written is recorded in
        ``versions``, and the root template names that version."""
        data = body.encode()
        if self._verified(key, data):
            return False
        answer = self._call("put_object", Key=key, Body=data, ContentType="application/x-yaml",
                            ChecksumAlgorithm="SHA256", ChecksumSHA256=sha256_b64(data))
        version = answer.get("VersionId")
        if not version or version == "null":
            raise AwsError(f"artifacts bucket {self.bucket}: S3 gave no version for {key}; "
                           "versioning must be enabled on the bucket")
        self.versions[key] = str(version)
        self.uploaded.append(key)
        return True

    def _verified(self, key: str, data: bytes) -> bool:
        try:
            got = self._call("get_object", Key=key, ChecksumMode="ENABLED")
            held = got["Body"].read(len(data) + 1)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey"):
                return False
            raise AwsError(f"artifacts bucket {self.bucket}: {exc}") from None
        except FlexibleChecksumError:  # the object's checksum does not match its body
            self.replaced.append(key)
            return False
        version = got.get("VersionId")
        if held != data or got.get("ChecksumSHA256") != sha256_b64(data) or \
                not version or version == "null":
            self.replaced.append(key)  # planted, modified, or unversioned: put ours
            return False
        self.versions[key] = str(version)
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
