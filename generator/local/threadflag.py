"""A flag that is on while this thread runs a given call: a patch deep in moto asks
whether a caller above it (a replacement moto makes, a certificate it issues) is on the
stack, without a parameter moto would have to pass down.

This module's room: that flag; what it marks is the patch's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any


class ThreadFlag(threading.local):
    on = False  # each thread's own; off until a wrapped call runs in it

    def around(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` with the flag on while it runs in the calling thread."""

        @functools.wraps(func)
        def flagged(*args: Any, **kwargs: Any) -> Any:
            self.on = True
            try:
                return func(*args, **kwargs)
            finally:
                self.on = False

        return flagged
