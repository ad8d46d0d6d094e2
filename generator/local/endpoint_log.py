"""The local endpoint's log (.stackgen/local-endpoint.log): bounded, and real errors only.

The server's output goes to one file that ``local up`` appended to on every start, and
werkzeug wrote a line for every request, so it grew across restarts to thousands of lines
in which the tracebacks that mattered were buried under moto's "not implemented" ones.
Here: ``rotate`` keeps the file under ``LIMIT_BYTES`` at each start (the previous one
becomes ``<name>.1``, replacing the one before); the server logs a request only when it
failed on the endpoint's side (5xx); an action moto has not implemented is one line naming
it, and any other exception keeps its traceback.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

LIMIT_BYTES = 1 << 20  # 1 MiB: days of errors-only logging
NOT_IMPLEMENTED = "not implemented by the local endpoint (moto): "


def previous(log_file: Path) -> Path:
    """Where ``rotate`` keeps the file it replaced."""
    return log_file.with_name(log_file.name + ".1")


def rotate(log_file: Path, limit: int = LIMIT_BYTES) -> bool:
    """Before a start: a log over ``limit`` bytes becomes the previous one (whose own
    previous goes); True when it rotated."""
    try:
        size = log_file.stat().st_size
    except FileNotFoundError:
        return False
    if size <= limit:
        return False
    os.replace(log_file, previous(log_file))
    return True


def logged(code: int | str) -> bool:
    """Whether the server writes an access line for a response with this status: the
    endpoint's own failures (5xx) only; a 4xx is the API's answer to the caller."""
    try:
        return int(code) >= 500
    except (TypeError, ValueError):
        return True


def request_handler(base: type[Any]) -> type[Any]:
    """``base`` (werkzeug's request handler, as moto customises it) logging only what
    ``logged`` keeps."""

    class Handler(base):  # type: ignore[misc]
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if logged(getattr(code, "value", code)):
                super().log_request(code, size)

    return Handler


def not_implemented_in_one_line(app: WSGIApplication) -> WSGIApplication:
    """moto answers an action it lacks by raising NotImplementedError out of the WSGI app,
    which werkzeug logs with a traceback (and answers HTTP 500): here the same 500 and one
    line naming the action. Any other exception keeps its traceback."""
    log = logging.getLogger("stackgen.local")

    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except NotImplementedError as exc:
            log.error("%s%s", NOT_IMPLEMENTED, exc)
            body = f"{NOT_IMPLEMENTED}{exc}".encode()
            start_response("500 Internal Server Error", [
                ("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]

    return wrapped
