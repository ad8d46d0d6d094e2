"""The PostgreSQL binaries the local endpoint's DBs run (Debian's ``postgresql`` package,
found by ``pg_config --bindir`` or under /usr/lib/postgresql/*/bin), and how they run as
root: in a user namespace as a mapped non-root uid, since PostgreSQL refuses root.

This module's room: finding and wrapping the binaries; the servers are rds_postgres.py's.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
from pathlib import Path

from generator.errors import StackgenError

BINDIR_ENV = "STACKGEN_PG_BINDIR"
_NAMESPACE_UID = "1000"  # the uid PostgreSQL sees for itself when started as root


class PostgresMissing(StackgenError):
    """The machine has no PostgreSQL server binaries."""


SEARCH_ROOT = Path("/usr/lib/postgresql")  # Debian's layout: <major>/bin


def bindir(search_root: Path = SEARCH_ROOT) -> Path:
    """Where initdb, postgres and pg_ctl are: $STACKGEN_PG_BINDIR, `pg_config --bindir`,
    else the newest <search_root>/<major>/bin. Found once per setting, PATH and search
    root: `pg_config` is a process, and each DB's create asked three times on the rds
    stack's critical path (issue 28)."""
    return _bindir(os.environ.get(BINDIR_ENV, ""), os.environ.get("PATH", ""), search_root)


@functools.lru_cache(maxsize=8)
def _bindir(setting: str, path: str, search_root: Path) -> Path:
    """bindir() for one $STACKGEN_PG_BINDIR (``setting``) and PATH (``path``, which
    decides the `pg_config` found); a failure is not kept."""
    candidates: list[Path] = []
    if setting:
        candidates.append(Path(setting))
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             check=False, timeout=10)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))

    def major(p: Path) -> int:
        return int(p.parent.name) if p.parent.name.isdigit() else 0

    candidates += sorted(search_root.glob("*/bin"), key=major, reverse=True)
    for candidate in candidates:
        if all((candidate / b).is_file() for b in ("initdb", "postgres", "pg_ctl", "psql")):
            return candidate
    raise PostgresMissing(
        "an RDS DB instance of engine postgres runs a real PostgreSQL on the local endpoint, "
        "and no PostgreSQL server binaries (initdb, postgres, pg_ctl, psql) were found; "
        "install them (`apt-get install postgresql` on Debian/Ubuntu) or set "
        f"{BINDIR_ENV} to their directory, then deploy again")


def as_db_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses root: as root, run it in a user namespace as a mapped uid."""
    if os.geteuid() != 0:
        return argv
    return ["unshare", "--user", f"--map-user={_NAMESPACE_UID}",
            f"--map-group={_NAMESPACE_UID}", *argv]
