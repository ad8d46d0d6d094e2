"""Files written whole or not at all, readable by their owner only.

State a reader must never see half-written (the endpoint's state and key, its backends'
snapshot, a lint cache entry): a temporary file in the same directory (mkstemp: mode 0600),
renamed over the target, removed again when anything fails.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def replace_atomically(path: Path, data: bytes, prefix: str = ".tmp-") -> None:
    """``path`` holds ``data`` afterwards, or is left as it was (OSError propagates)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
