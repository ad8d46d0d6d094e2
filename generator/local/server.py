"""Entry point of the local endpoint's own process: moto's server plus our fixes.

Run by ``generator.local.manager``; binds 127.0.0.1 only. Besides moto's API it
answers one route of its own, ``IDENTITY_PATH``: its pid, port and state dir and,
asked with a fresh ``?nonce=``, an HMAC-SHA256 of the nonce and those facts keyed
with the random token the manager handed it at start. The manager checks that proof
before it signals a process; the token itself is never sent, so a local user who asks
learns nothing that switches the latency model or passes for the endpoint's owner.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

HOST = "127.0.0.1"
IDENTITY_PATH = "/_stackgen/local-endpoint"
IDENTITY_KIND = "stackgen-local-endpoint"
# POST {"latency": "real"|"off", "time_scale": N} with the token in TOKEN_HEADER: the
# latency model (emulation/latency.py), switched on a running endpoint by `local up`.
LATENCY_PATH = "/_stackgen/latency"
# POST {"advance": seconds}, token and loopback as above: moves the latency model's clock on
# (emulation/latency.py, Clock), so tests see modelled minutes pass without waiting; answers
# the offset in force and the model's now. Nothing on the deploy path calls it.
CLOCK_PATH = "/_stackgen/clock"
TOKEN_HEADER = "X-Stackgen-Token"
# GET: the load balancers' listeners served on local ports (emulation/albproxy.py), JSON list.
LISTENERS_PATH = "/_stackgen/listeners"
# Passed in the environment, not on the command line, so `ps` does not show it.
TOKEN_ENV = "STACKGEN_LOCAL_TOKEN"
# Written, with a newline, on the ``--ready-fd`` pipe once the server listens (the
# manager waits for it instead of polling the port; cf. sd_notify's READY=1).
READY_LINE = b"READY=1"
_LOOPBACK = frozenset({"127.0.0.1", "::1"})
_NONCE = re.compile(r"nonce=([0-9a-f]{32,128})")


def identity_proof(token: str, nonce: str, identity: dict[str, Any]) -> str:
    """What the endpoint answers to a nonce: HMAC-SHA256 keyed with its token over the
    nonce and the identity it claims (pid, port, state dir), so neither can be replayed
    for another process or another question."""
    message = json.dumps([nonce, identity.get("kind"), identity.get("pid"),
                          identity.get("port"), identity.get("state_dir")]).encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def with_identity(app: WSGIApplication, identity: dict[str, Any], token: str) -> WSGIApplication:
    """``app`` plus the identity route, answered to loopback callers only; never the
    token, only a proof of it for the nonce asked with."""
    public = {k: v for k, v in identity.items() if k != "token"}

    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != IDENTITY_PATH:
            return app(environ, start_response)
        if environ.get("REMOTE_ADDR") not in _LOOPBACK:
            start_response("403 Forbidden", [("Content-Length", "0")])
            return [b""]
        answer = dict(public)
        asked = _NONCE.fullmatch(str(environ.get("QUERY_STRING") or ""))
        if asked:
            answer.update(nonce=asked[1], proof=identity_proof(token, asked[1], public))
        body = json.dumps(answer, sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


def with_latency_control(app: WSGIApplication, token: str) -> WSGIApplication:
    """``app`` plus LATENCY_PATH and CLOCK_PATH, for loopback callers that hold the
    endpoint's token."""
    from generator.local.emulation import latency

    def answer(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    def configured(wanted: dict[str, Any]) -> dict[str, Any]:
        latency.configure(wanted["latency"] == "real", float(wanted.get("time_scale", 1)))
        return {"latency": "real" if latency.MODEL.enabled else "off",
                "time_scale": latency.MODEL.time_scale}

    def advanced(wanted: dict[str, Any]) -> dict[str, Any]:
        offset = latency.CLOCK.advance(float(wanted["advance"]))
        return {"offset": offset.total_seconds(),
                "now": latency.CLOCK.now().isoformat() + "Z"}

    routes = {LATENCY_PATH: configured, CLOCK_PATH: advanced}

    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        route = routes.get(str(environ.get("PATH_INFO")))
        if route is None:
            return app(environ, start_response)
        header = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")
        given = str(environ.get(header) or "")
        if environ.get("REMOTE_ADDR") not in _LOOPBACK or not hmac.compare_digest(given, token):
            return answer(start_response, "403 Forbidden", b"{}")
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            wanted = json.loads(environ["wsgi.input"].read(size) or b"{}")
            body = json.dumps(route(wanted)).encode()
        except (ValueError, KeyError, TypeError):
            return answer(start_response, "400 Bad Request", b"{}")
        return answer(start_response, "200 OK", body)

    return wrapped


def with_listeners(app: WSGIApplication) -> WSGIApplication:
    """``app`` plus LISTENERS_PATH (loopback callers only): where the ALBs answer locally."""
    from generator.local.emulation import albproxy

    def wrapped(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != LISTENERS_PATH:
            return app(environ, start_response)
        if environ.get("REMOTE_ADDR") not in _LOOPBACK:
            start_response("403 Forbidden", [("Content-Length", "0")])
            return [b""]
        body = json.dumps(albproxy.listeners(), sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


def _exit(signum: int, frame: Any) -> None:
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="stackgen local AWS endpoint (moto)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", required=True, help="the state dir that started it")
    parser.add_argument("--containers", choices=("on", "off"), default="off",
                        help="run ECS tasks' containers in Docker (emulation/containers.py)")
    parser.add_argument("--ready-fd", type=int, default=None,
                        help="a pipe to write READY_LINE to once listening (then closed)")
    args = parser.parse_args(argv)
    if args.ready_fd is not None:
        os.set_inheritable(args.ready_fd, False)  # nothing this process starts holds it
    token = os.environ.pop(TOKEN_ENV, "")  # popped: nothing moto runs needs to see it
    if not token:
        parser.error(f"{TOKEN_ENV} is not set; start the endpoint with `stackgen local up`")

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from generator.local import compat, endpoint_log, persist
    from generator.local.emulation import containers, rds_engine, rds_postgres

    containers.configure(args.containers == "on", str(args.port), Path(args.state_dir))
    if containers.SETTINGS.enabled:
        # The endpoint's containers go with it (`local down`, Ctrl-C, SIGTERM).
        atexit.register(containers.remove_all, str(args.port))
        containers.remove_all(str(args.port))  # left by an endpoint that was killed
        # The network first: its gateway is where the DBs answer the containers (and the
        # address they report), and where the tasks fetch the CA bundle.
        containers.ensure_network()
    compat.apply()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # to the log file
    rds_engine.configure(Path(args.state_dir))
    if containers.SETTINGS.gateway:
        rds_postgres.configure_network(containers.SETTINGS.gateway)
        try:
            rds_engine.serve_ca_bundle(containers.SETTINGS.gateway)
        except OSError as exc:
            sys.exit(f"the CA bundle for the containers cannot be served on "
                     f"{containers.SETTINGS.gateway}:{rds_engine.CA_BUNDLE_PORT} ({exc}); stop "
                     "the process that holds that port, or run `stackgen local up "
                     "--containers off`")
    # The last snapshot of the state (local down, or a crash), before serving anything.
    persister = persist.Persister(Path(args.state_dir))
    persister.restore()
    atexit.register(persister.close)  # after rds_engine's: runs before its servers stop
    persister.start()
    # What moto.server.main does before serving: moto builds some ARNs/URLs from it.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    moto_app = DomainDispatcherApplication(create_backend_app)
    identity = {"kind": IDENTITY_KIND, "pid": os.getpid(), "port": args.port,
                "state_dir": args.state_dir, "containers": args.containers}
    app = with_listeners(with_latency_control(with_identity(
        persister.watching(rds_engine.with_ca_bundle(
            endpoint_log.not_implemented_in_one_line(moto_app))), identity, token), token))
    server = make_server(HOST, args.port, app, threaded=True,
                         request_handler=endpoint_log.request_handler(MotoRequestHandler))
    server.log_startup()
    if args.ready_fd is not None:  # listening: a connection now waits in the backlog
        os.write(args.ready_fd, READY_LINE + b"\n")
        os.close(args.ready_fd)
    server.serve_forever()


if __name__ == "__main__":
    main()
