"""The env lock: one deploy, apply or delete of an env at a time, across machines.

The lock lives on AWS itself, as one S3 object per env, ``locks/<project>-<env>.json``
in the tool's bucket (``stackgen-artifacts-<account>-<region>``, the nested form's
artifacts bucket), written with S3 conditional requests so every step is a
compare-and-swap done by S3 (S3 user guide, "How to prevent object overwrites with
conditional writes" and "How to perform conditional deletes"):

- take: ``PutObject If-None-Match: *``; of concurrent writers exactly one succeeds,
  the others get 412 PreconditionFailed (or 409 ConditionalRequestConflict);
- renew (the heartbeat) and take over a lock that expired: ``PutObject If-Match:
  <ETag>``, so two takers of one expired lock cannot both win, and a process that
  lost its lock cannot overwrite the new holder's;
- release: ``DeleteObject If-Match: <ETag>``, which never deletes another's lock.

An SSM parameter created with ``Overwrite=False`` makes taking atomic too, but SSM
has no conditional overwrite or delete: renewing, taking over and releasing would
each be a read then a write that races. Expiry is judged on S3's clock (the
object's LastModified against the response's Date), so a skewed laptop clock
neither steals a live lock nor keeps a dead one.

IAM: ``s3:PutObject``, ``s3:GetObject``, ``s3:DeleteObject`` on
``arn:aws:s3:::stackgen-artifacts-<account>-<region>/locks/*`` and ``s3:ListBucket``
on the bucket (without it a missing key answers 403, not 404); the first run in an
account and region also creates the bucket (``s3:CreateBucket`` and the settings
``Artifacts.ensure_bucket`` applies).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import math
import os
import re
import socket
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import msgspec
from botocore.exceptions import BotoCoreError, ClientError

from generator import __version__
from generator.deploy.artifacts import Artifacts
from generator.errors import AwsError, StackgenError

DEFAULT_TTL = timedelta(minutes=10)  # a dead process's lock lapses after this
# No run heartbeats less often than a third of this, and no lock blocks an env longer:
# a TTL read from (or asked for) beyond it counts as this much (issue 22: a lock object
# with TTL 1e308 blocked deploys for ever, and its expiry overflowed datetime).
MAX_TTL = timedelta(hours=24)
MAX_BODY = 64 * 1024  # a lock object is a few hundred bytes; more is not one of ours
MAX_FIELD = 200  # characters of a lock field that are ever printed
NEVER = datetime.min.replace(tzinfo=UTC)
LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
MISSING = ("NoSuchKey", "NoSuchBucket", "404")


class LockHeld(StackgenError):
    """Another run holds the env's lock (and it has not expired)."""

    exit_code = 1

    def __init__(self, env: str, holder: Holder) -> None:
        note = f" ({holder.note})" if holder.note else ""
        super().__init__(
            f"env {env} is locked by {holder.who} since {when(holder.acquired)} "
            f"({holder.reason}), expires {when(holder.expires)}{note}; wait, or "
            f"`stackgen unlock --env {env}` if that process is dead")
        self.env = env
        self.holder = holder


class LockLost(StackgenError):
    """The lock was taken over or removed while we held it."""

    exit_code = 1


# ANSI/VT escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and
# two-character escapes; then every control and format character (C0, C1, DEL,
# bidirectional overrides, line and paragraph separators).
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -~]?)"
                     r"|\x9b[0-?]*[ -/]*[@-~]?")


def printable(text: object, limit: int = MAX_FIELD) -> str:
    """A lock field as it may be printed: escape sequences and control characters
    removed (a lock's owner could otherwise rewrite the operator's terminal), short."""
    clean = _ESCAPE.sub("", str(text))
    clean = "".join(c for c in clean if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    return clean if len(clean) <= limit else clean[:limit] + "…"


def clamp_ttl(seconds: float) -> float:
    """A TTL within 0..MAX_TTL (not finite: MAX_TTL)."""
    if not math.isfinite(seconds):
        return MAX_TTL.total_seconds()
    return min(max(seconds, 0.0), MAX_TTL.total_seconds())


def when(moment: datetime) -> str:
    """Local wall-clock time, with the date when it is not today."""
    try:
        local = moment.astimezone()
    except (OverflowError, ValueError):  # a lock object's year 1 or 9999
        return moment.isoformat(timespec="minutes")
    today = datetime.now(local.tzinfo).date()
    return local.strftime("%H:%M" if local.date() == today else "%Y-%m-%d %H:%M")


def ci_job(environ: Mapping[str, str]) -> str | None:
    """The CI job this run belongs to, from the variables the CI services document."""
    if environ.get("GITHUB_ACTIONS") == "true":
        run = (f"{environ.get('GITHUB_SERVER_URL', 'https://github.com')}/"
               f"{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/"
               f"{environ.get('GITHUB_RUN_ID', '')}")
        return f"GitHub Actions job {environ.get('GITHUB_JOB', '?')}, {run}"
    if environ.get("GITLAB_CI") == "true":
        return f"GitLab CI job {environ.get('CI_JOB_URL') or environ.get('CI_JOB_ID', '?')}"
    for var, name in (("BUILDKITE_BUILD_URL", "Buildkite"), ("CIRCLE_BUILD_URL", "CircleCI"),
                      ("BUILD_URL", "Jenkins")):
        if environ.get(var):
            return f"{name} {environ[var]}"
    if environ.get("CI", "").lower() in ("true", "1"):
        return "CI"
    return None


def whoami() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def pid_space() -> str:
    """Where a pid means one process: this boot of this kernel and this pid namespace
    (Linux: the boot id, and the inode of /proc/self/ns/pid, which differs between
    containers sharing a host). Empty where the system does not say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return f"{boot}/{namespace}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs here (signal 0 checks, sends nothing)."""
    if pid <= 0:
        return True  # not a pid we can judge: count it as alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return True
    return True


class Here(msgspec.Struct, frozen=True):
    """This machine, as a lock's holder is compared with it: the hostname, where pids
    are meaningful, and whether a pid runs. A seam, so a test can be another host."""

    host: str = msgspec.field(default_factory=socket.gethostname)
    space: str = msgspec.field(default_factory=pid_space)
    alive: Callable[[int], bool] = pid_alive

    def dead_holder(self, holder: Holder) -> bool:
        """True only when the holder was a process here that no longer runs: the same
        hostname, the same boot and pid namespace when the lock records them, and no
        such pid. A lock from another host, or whose process may run, is never judged
        dead here (a clash of hostnames with another machine needs a different
        ``space`` too, when both record one)."""
        if not holder.host or printable(self.host) != holder.host or holder.pid <= 0:
            return False
        if holder.space and self.space and holder.space != self.space:
            return False
        return not self.alive(holder.pid)


class Holder(msgspec.Struct, frozen=True):
    """What the lock object says, and when S3 says it expires."""

    owner: str
    pid: int
    reason: str
    acquired: datetime
    ttl_seconds: float
    token: str
    ci: str | None = None
    tool: str = ""
    renewed: datetime | None = None  # S3's LastModified: taken or last renewed
    expires: datetime = NEVER
    note: str = ""  # what was wrong with the object as read (absurd TTL), printed with it
    host: str = ""  # the holder's hostname (older lock objects: from ``owner``)
    space: str = ""  # where its pid is meaningful (pid_space), when it said

    @property
    def who(self) -> str:
        ci = f", {self.ci}" if self.ci else ""
        return f"{self.owner} (pid {self.pid}{ci})"

    def body(self) -> bytes:
        return json.dumps({
            "owner": self.owner, "pid": self.pid, "reason": self.reason,
            "acquired": self.acquired.isoformat(), "ttl_seconds": self.ttl_seconds,
            "token": self.token, "ci": self.ci, "tool": self.tool,
            "host": self.host, "pid_space": self.space,
        }, sort_keys=True).encode()

    @classmethod
    def parse(cls, body: bytes, last_modified: datetime) -> Holder:
        """The holder a lock object names, every text field printable and the TTL within
        MAX_TTL; an object that is not one of ours counts as held for DEFAULT_TTL."""
        try:
            if len(body) > MAX_BODY:
                raise ValueError("too large")
            raw = json.loads(body)
            asked = float(raw["ttl_seconds"])
            if math.isnan(asked):
                raise ValueError("no TTL")
            ttl = clamp_ttl(asked)
            note = "" if ttl == asked else (
                f"its TTL of {printable(raw['ttl_seconds'], 24)} s is beyond "
                f"{MAX_TTL.total_seconds() / 3600:g} h and counts as that")
            acquired = datetime.fromisoformat(str(raw["acquired"]))
            if acquired.tzinfo is None:
                acquired = acquired.replace(tzinfo=UTC)
            ci = raw.get("ci")
            owner = printable(raw["owner"])
            host = printable(raw.get("host") or owner.rpartition("@")[2])
            return cls(owner=owner, pid=int(raw["pid"]), host=host,
                       space=printable(raw.get("pid_space") or ""),
                       reason=printable(raw["reason"]), acquired=acquired, ttl_seconds=ttl,
                       token=str(raw["token"]), ci=None if ci is None else printable(ci),
                       tool=printable(raw.get("tool", "")), renewed=last_modified,
                       expires=last_modified + timedelta(seconds=ttl), note=note)
        except (ValueError, KeyError, TypeError, OverflowError):
            # Not ours or damaged: treat as held by an unknown owner for the default time.
            return cls(owner="an unreadable lock object", pid=0, reason="unknown",
                       acquired=last_modified, ttl_seconds=DEFAULT_TTL.total_seconds(),
                       token="", renewed=last_modified,
                       expires=last_modified + DEFAULT_TTL)


class Current(msgspec.Struct, frozen=True):
    holder: Holder
    etag: str
    now: datetime  # S3's clock when it was read

    @property
    def expired(self) -> bool:
        return self.now >= self.holder.expires


class _NoBucket(Exception):
    """The lock's bucket does not exist yet (only when its settings are not checked)."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _server_now(response: Mapping[str, Any]) -> datetime:
    """S3's clock (the Date header), else ours."""
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if date:
        with contextlib.suppress(TypeError, ValueError):
            return parsedate_to_datetime(date).astimezone(UTC)
    return datetime.now(UTC)


def _wait_or_stop(stop: threading.Event, seconds: float) -> bool:
    return stop.wait(seconds)


def lock_key(prefix: str) -> str:
    return f"locks/{prefix}.json"


class EnvLock:
    """Take, renew (a heartbeat thread) and release one env's lock."""

    def __init__(self, s3: Any, bucket: str, region: str, env: str, prefix: str, reason: str,
                 *, account: str | None = None, ttl: timedelta = DEFAULT_TTL,
                 heartbeat: float | None = None,
                 on_lost: Callable[[str], None] | None = None,
                 environ: Mapping[str, str] | None = None, here: Here | None = None,
                 check_bucket: bool = True,
                 pause: Callable[[threading.Event, float], bool] | None = None) -> None:
        self.s3 = s3
        # False: the bucket's settings are not checked when it exists (a delete writes
        # nothing there but this lock); it is still created, hardened, when missing.
        self.check_bucket = check_bucket
        self.bucket = bucket
        self.region = region
        self.env = env
        self.key = lock_key(prefix)
        self.reason = reason
        self.account = account
        self.ttl = timedelta(seconds=clamp_ttl(ttl.total_seconds()))
        self.heartbeat = heartbeat if heartbeat is not None else self.ttl.total_seconds() / 3
        self.on_lost = on_lost
        self.environ = os.environ if environ is None else environ
        self.etag: str | None = None
        self.here = here if here is not None else Here()
        self.took_over: Holder | None = None  # the expired or dead holder we replaced
        self.took_over_dead = False  # True: it had not expired, its process was gone
        self._stop = threading.Event()
        # The heartbeat's timer: wait ``heartbeat`` seconds or until the event is set; True
        # when it was (stop beating). A test passes its own to drive the beats itself.
        self.pause = pause if pause is not None else _wait_or_stop
        self._beat: threading.Thread | None = None
        self.mine: Holder | None = None  # what this lock wrote while it holds the env

    # --- S3, behind typed answers ------------------------------------------------------

    def _owner(self) -> dict[str, str]:
        return {"ExpectedBucketOwner": self.account} if self.account else {}

    def _call(self, name: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.s3, name)(Bucket=self.bucket, Key=self.key, **self._owner(),
                                          **kwargs)
        except BotoCoreError as exc:
            raise AwsError(f"env lock s3://{self.bucket}/{self.key}: {exc}") from None

    def _put(self, holder: Holder, **condition: str) -> str | None:
        """Write ``holder`` if the condition holds: its ETag, or None when another won."""
        try:
            out = self._call("put_object", Body=holder.body(), ContentType="application/json",
                             **condition)
        except ClientError as exc:
            if _code(exc) == "NoSuchBucket" and not self.check_bucket and self.etag is None:
                raise _NoBucket from None  # acquire creates it, then takes the lock
            if _code(exc) in LOST_RACE or _code(exc) in MISSING:
                return None
            raise AwsError(f"env lock s3://{self.bucket}/{self.key}: {exc}") from None
        return str(out["ETag"])

    def read(self) -> Current | None:
        try:
            out = self._call("get_object")
        except ClientError as exc:
            if _code(exc) in MISSING:
                return None
            raise AwsError(f"env lock s3://{self.bucket}/{self.key}: {exc}") from None
        modified = out["LastModified"]
        holder = Holder.parse(out["Body"].read(MAX_BODY + 1), modified.astimezone(UTC))
        return Current(holder, str(out["ETag"]), _server_now(out))

    def _new_holder(self) -> Holder:
        return Holder(owner=whoami(), pid=os.getpid(), reason=self.reason,
                      acquired=datetime.now(UTC), ttl_seconds=self.ttl.total_seconds(),
                      token=uuid.uuid4().hex, ci=ci_job(self.environ), tool=__version__,
                      host=printable(self.here.host), space=self.here.space)

    # --- the lock ----------------------------------------------------------------

    def ensure_bucket(self) -> None:
        try:
            Artifacts(self.s3, self.bucket, self.region, self.account or "").ensure_bucket()
        except ClientError as exc:  # another run created it a moment ago
            if _code(exc) != "BucketAlreadyOwnedByYou":
                raise AwsError(f"env lock bucket {self.bucket}: {exc}") from None

    def acquire(self) -> None:
        """Take the lock, or take over one that expired or whose process died on this
        host (a killed run: its pid runs no more); LockHeld when another holds it."""
        if self.check_bucket:
            self.ensure_bucket()
        mine = self._new_holder()
        last: Current | None = None
        for _ in range(3):  # a lock released or taken over meanwhile: look again
            try:
                self.etag = self._put(mine, IfNoneMatch="*")
            except _NoBucket:  # the first run in this account and region
                self.ensure_bucket()
                self.etag = self._put(mine, IfNoneMatch="*")
            if self.etag:
                break
            last = self.read()
            if last is None:
                continue
            dead = not last.expired and self.here.dead_holder(last.holder)
            if not last.expired and not dead:
                raise LockHeld(self.env, last.holder)
            # If-Match: of two runs taking over one dead or expired lock, one wins.
            self.etag = self._put(mine, IfMatch=last.etag)
            if self.etag:
                self.took_over, self.took_over_dead = last.holder, dead
                break
        if not self.etag:
            if last is not None:
                raise LockHeld(self.env, last.holder)
            raise AwsError(f"env lock s3://{self.bucket}/{self.key}: could not be taken "
                           "after three tries; try again")
        self.mine = mine
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, name="env-lock-heartbeat",
                                      daemon=True)
        self._beat.start()

    def renew(self) -> bool:
        """Extend the expiry (a new LastModified); False when the lock is no longer ours."""
        if self.mine is None or self.etag is None:
            return False
        etag = self._put(self.mine, IfMatch=self.etag)
        if etag is None:
            self.etag = None
            return False
        self.etag = etag
        return True

    def _heartbeat(self) -> None:
        while not self.pause(self._stop, self.heartbeat):
            try:
                if self.renew():
                    continue
            except AwsError:
                continue  # a blip; the next beat tries again well before expiry
            if self._stop.is_set():
                return
            if self.on_lost is not None:
                self.on_lost(f"the lock on env {self.env} was taken over or removed "
                             "(`stackgen unlock`?) while this run held it")
            return

    def stop_heartbeat(self) -> None:
        """Stop renewing, keep the lock: what a run that was killed leaves behind (the
        lock expires after its ttl), and how tests make one."""
        self._stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)

    def release(self) -> None:
        """Delete the lock if it is still ours (never another run's)."""
        self._stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)
        etag, self.etag, self.mine = self.etag, None, None
        if etag is None:
            return
        try:
            self._call("delete_object", IfMatch=etag)
        except ClientError as exc:
            if _code(exc) not in LOST_RACE and _code(exc) not in MISSING:
                raise AwsError(f"env lock s3://{self.bucket}/{self.key}: {exc}") from None

    @contextlib.contextmanager
    def held(self) -> Iterator[EnvLock]:
        """Held for the block; released on exit, on error and on Ctrl-C (even one that
        lands while it is being taken)."""
        try:
            self.acquire()
            yield self
        finally:
            self.release()

    def force_release(self, etag: str) -> bool:
        """`stackgen unlock`: delete the lock that was shown, and only that one."""
        try:
            self._call("delete_object", IfMatch=etag)
        except ClientError as exc:
            if _code(exc) in LOST_RACE or _code(exc) in MISSING:
                return False
            raise AwsError(f"env lock s3://{self.bucket}/{self.key}: {exc}") from None
        return True
