"""A plan as a file: signed and checked (HMAC-SHA256), loaded for `apply` and refused in
one line when it is not one of ours, written readable by its owner only."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from generator import __version__
from generator.errors import OutputError, UsageError
from generator.review.plan import MAX_PLAN_BYTES, Plan

PLAN_KEY_ENV = "STACKGEN_PLAN_KEY"
SIGNATURE_PREFIX = "hmac-sha256:"
MAX_KEY_BYTES = 4096


class PlanSignatureError(UsageError):
    """A signing key was given and the plan file is unsigned or its signature is wrong."""


def plan_key(key_file: Path | None) -> bytes | None:
    """The key plans are signed and checked with: ``--sign-key-file``, else the
    STACKGEN_PLAN_KEY environment variable, else none (plans go unsigned)."""
    if key_file is not None:
        try:
            with key_file.open("rb") as f:
                key = f.read(MAX_KEY_BYTES + 1).strip()
        except OSError as exc:
            raise UsageError(f"{key_file}: cannot read the signing key ({exc.strerror}); "
                             "check --sign-key-file") from None
        where = str(key_file)
    else:
        key = os.environ.get(PLAN_KEY_ENV, "").strip().encode()
        where = PLAN_KEY_ENV
        if not key:
            return None
    if len(key) < 16 or len(key) > MAX_KEY_BYTES:
        raise UsageError(f"{where}: a signing key must hold 16 to {MAX_KEY_BYTES} bytes; "
                         "make one with `openssl rand -hex 32`")
    return key


def _canonical(data: dict[str, Any]) -> bytes:
    return (json.dumps({**data, "signature": ""}, indent=2, sort_keys=True) + "\n").encode()


def sign_plan(text: str, key: bytes) -> str:
    """The plan's JSON with its HMAC-SHA256 signature, over the same JSON unsigned."""
    data = json.loads(text)
    digest = hmac.new(key, _canonical(data), hashlib.sha256).hexdigest()
    return json.dumps({**data, "signature": SIGNATURE_PREFIX + digest}, indent=2,
                      sort_keys=True) + "\n"


def check_signature(path: Path, text: str, key: bytes) -> None:
    """Refuse a plan not signed with ``key``: unsigned, edited after signing, or signed
    with another key."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise PlanSignatureError(f"{path}: not a stackgen plan; make one with "
                                 "`stackgen plan --out`")
    signature = data.get("signature")
    if not isinstance(signature, str) or not signature:
        raise PlanSignatureError(f"{path}: the plan is not signed, and a signing key was "
                                 "given; make it with `stackgen plan --out` and the same key")
    want = SIGNATURE_PREFIX + hmac.new(key, _canonical(data), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.encode(), want.encode()):
        raise PlanSignatureError(f"{path}: the plan's signature does not match (edited since "
                                 "it was signed, or signed with another key); make the plan "
                                 "again")


def load_plan(path: Path, key: bytes | None = None) -> Plan:
    """A plan saved by `stackgen plan --out`, for this version; anything else is refused
    in one line, before anything is rendered or any AWS call. With ``key``, an unsigned
    or badly signed plan is refused too."""
    try:
        if not path.is_file():  # /dev/zero or a FIFO: never read to the end
            raise UsageError(f"{path}: not a regular file; pass a plan saved by "
                             "`stackgen plan --out`")
        with path.open("rb") as f:
            text = f.read(MAX_PLAN_BYTES + 1).decode("utf-8")
        if key is not None:
            check_signature(path, text, key)
        saved = Plan.from_json(text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror}); check the path") from None
    except ValueError as exc:  # not UTF-8, not JSON, or JSON of another shape
        detail = " ".join(str(exc).split())[:200]
        raise UsageError(f"{path}: not a stackgen plan ({detail}); make one with "
                         "`stackgen plan --out`") from None
    if saved.tool_version != __version__:
        # Another version may render other templates: the plan's review would not hold.
        raise UsageError(f"{path}: made by stackgen {saved.tool_version}, this is "
                         f"{__version__}; make the plan again with `stackgen plan --out`")
    return saved


def check_output(path: Path, force: bool) -> None:
    """A plan or review is written where it was asked, never through a symbolic link
    someone else placed there (it would write our file wherever the link points), unless
    ``force``."""
    if path.is_symlink() and not force:
        raise OutputError(f"cannot write {path}: it is a symbolic link (to "
                          f"{os.readlink(path)}); remove it, or pass --force to write "
                          "where it points")


def write_private(path: Path, text: str, force: bool = False) -> None:
    """Write ``text`` readable by its owner only (0600): a plan holds the env's change
    set ARNs and parameter names, a review its diffs. Written to a new file, then
    renamed over ``path``, so the mode holds whatever was there before."""
    check_output(path, force)
    target = path.resolve() if force and path.is_symlink() else path
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    made = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        made = True
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        if made:  # never what was in its way (a directory unlink() raised on: a traceback)
            tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; make its directory "
                          "writable, or choose another path") from None
