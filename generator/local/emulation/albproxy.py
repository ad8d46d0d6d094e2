"""The load balancer's data path: each ALB listener answers on a local port of 127.0.0.1.

On only with containers on (``containers.SETTINGS``): the targets are the tasks' containers.
Followed from the Elastic Load Balancing user guide for Application Load Balancers:

- A listener's rules are evaluated in priority order, its default actions last ("Listener
  rules"); conditions ``path-pattern`` and ``host-header`` (``*`` and ``?`` wildcards,
  case-insensitive host) are matched, others never match locally.
- ``forward`` sends the request to a healthy registered target, round robin; with no healthy
  target it routes to every registered target ("fail open", "Health checks for your target
  groups"); with none registered it answers 503 ("HTTP 503: Service unavailable",
  "Troubleshoot your Application Load Balancers"). ``redirect`` answers with its status
  code and a Location on the local port of the listener that the redirect names;
  ``fixed-response`` answers its code and body.
- Target health: HealthCheckPath on the target's traffic port, ``HealthyThresholdCount``
  consecutive successes make it healthy, ``UnhealthyThresholdCount`` failures unhealthy,
  the matcher's codes count as success ("Health checks for your target groups"). Probes run
  every PROBE_SECONDS, not the group's interval (in seconds on AWS, too slow for a deploy
  here); the counts are the group's.

An HTTPS listener is served as plain HTTP on its local port: the certificate is ACM's, whose
key never leaves AWS, and a browser would not trust a made-up one for the env's domain. The
local URL says ``http://``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import http.client
import itertools
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.elbv2.models import elbv2_backends

HOST = "127.0.0.1"
PROBE_SECONDS = 0.25
SYNC_SECONDS = 0.25
HOP_BY_HOP = {"connection", "keep-alive", "server", "date", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade"}


@dataclass
class Target:
    key: str  # the task's ARN
    port: int
    state: str = "initial"  # initial, healthy, unhealthy, draining
    successes: int = 0
    failures: int = 0


_LOCK = threading.RLock()
TARGETS: dict[str, dict[str, Target]] = {}  # target group ARN -> task ARN -> target
_SERVERS: dict[str, tuple[ThreadingHTTPServer, int]] = {}  # listener ARN -> server, port
_ROUND_ROBIN = itertools.count()
_STARTED = threading.Event()


# --- targets --------------------------------------------------------------------------------


def register(target_group_arn: str, key: str, port: int) -> None:
    with _LOCK:
        TARGETS.setdefault(target_group_arn, {})[key] = Target(key, port)


def deregister(key: str) -> None:
    with _LOCK:
        for targets in TARGETS.values():
            targets.pop(key, None)


def health(target_group_arn: str, key: str) -> str | None:
    with _LOCK:
        target = TARGETS.get(target_group_arn, {}).get(key)
        return target.state if target else None


def _group(arn: str) -> Any:
    for regions in elbv2_backends.values():
        for backend in regions.values():
            found = backend.target_groups.get(arn)
            if found is not None:
                return found
    return None


def matches(codes: str, status: int) -> bool:
    """The target group's matcher: "200", "200,302", "200-299"."""
    for part in codes.split(","):
        low, _, high = part.strip().partition("-")
        with contextlib.suppress(ValueError):
            if int(low) <= status <= int(high or low):
                return True
    return False


def probe(port: int, path: str, timeout: float) -> int | None:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path or "/", headers={"User-Agent": "ELB-HealthChecker/2.0"})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def check_once() -> None:
    """One round of health checks over every registered target."""
    with _LOCK:
        work = [(arn, t) for arn, targets in TARGETS.items() for t in targets.values()]
    for arn, target in work:
        group = _group(arn)
        if group is None:
            continue
        path = group.health_check_path or "/"
        codes = str((getattr(group, "matcher", None) or {}).get("HttpCode", "200"))
        status = probe(target.port, path, min(5.0, float(group.health_check_timeout_seconds)))
        ok = status is not None and matches(codes, status)
        with _LOCK:
            if ok:
                target.successes, target.failures = target.successes + 1, 0
                if target.successes >= int(group.healthy_threshold_count):
                    target.state = "healthy"
            else:
                target.failures, target.successes = target.failures + 1, 0
                if target.failures >= int(group.unhealthy_threshold_count):
                    target.state = "unhealthy"


# --- listeners -----------------------------------------------------------------------------


def _pattern(value: str, text: str, case: bool) -> bool:
    return fnmatch.fnmatchcase(text if case else text.lower(), value if case else value.lower())


def rule_matches(conditions: list[dict[str, Any]], path: str, host: str) -> bool:
    for condition in conditions:
        field = condition.get("Field")
        values = list(condition.get("Values") or [])
        if field == "path-pattern":
            values += (condition.get("PathPatternConfig") or {}).get("Values") or []
            if not any(_pattern(v, path, True) for v in values):
                return False
        elif field == "host-header":
            values += (condition.get("HostHeaderConfig") or {}).get("Values") or []
            if not any(_pattern(v, host.split(":")[0], False) for v in values):
                return False
        else:
            return False
    return True


def _actions(listener: Any, path: str, host: str) -> list[Any]:
    rules = sorted(getattr(listener, "_non_default_rules", {}).values(),
                   key=lambda r: int(r.priority))
    for rule in rules:
        if rule_matches(list(rule.conditions or []), path, host):
            return list(rule.actions)
    return list(listener.default_actions)


def _forward_groups(action: Any) -> list[str]:
    data = getattr(action, "data", {}) or {}
    if data.get("TargetGroupArn"):
        return [str(data["TargetGroupArn"])]
    groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
    return [str(g["TargetGroupArn"]) for g in groups if int(g.get("Weight", 1)) > 0]


def pick(target_group_arns: list[str]) -> Target | None:
    with _LOCK:
        registered = [t for arn in target_group_arns for t in TARGETS.get(arn, {}).values()
                      if t.state != "draining"]
    healthy = [t for t in registered if t.state == "healthy"]
    pool = healthy or registered  # fail open
    if not pool:
        return None
    return pool[next(_ROUND_ROBIN) % len(pool)]


def local_port(listener_arn: str) -> int | None:
    with _LOCK:
        served = _SERVERS.get(listener_arn)
        return served[1] if served else None


def _listener_on(load_balancer_arn: str, port: str) -> Any:
    for regions in elbv2_backends.values():
        for backend in regions.values():
            lb = backend.load_balancers.get(load_balancer_arn)
            if lb is not None:
                for listener in lb.listeners.values():
                    if str(listener.port) == str(port):
                        return listener
    return None


def _handler(listener: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                    ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _serve(self) -> None:
            path = self.path.split("?")[0]
            host = self.headers.get("Host", "")
            for action in _actions(listener, path, host):
                kind = getattr(action, "type", None)
                if kind == "forward":
                    self._forward(_forward_groups(action))
                    return
                if kind == "redirect":
                    self._redirect(getattr(action, "data", {}).get("RedirectConfig") or {})
                    return
                if kind == "fixed-response":
                    config = getattr(action, "data", {}).get("FixedResponseConfig") or {}
                    self._answer(int(config.get("StatusCode", 200)),
                                 str(config.get("MessageBody", "")).encode(),
                                 {"Content-Type": str(config.get("ContentType",
                                                                 "text/plain"))})
                    return
            self._answer(503, b"503 Service Temporarily Unavailable\n")

        def _redirect(self, config: dict[str, Any]) -> None:
            port = str(config.get("Port", "#{port}"))
            other = None if port.startswith("#") else _listener_on(listener.load_balancer_arn,
                                                                   port)
            local = local_port(other.arn) if other is not None else None
            target_port = local or int(self.server.server_address[1])  # type: ignore[index]
            path = str(config.get("Path", "/#{path}")).replace("#{path}", self.path.lstrip("/"))
            path = path.split("?")[0] if "?" in path else path
            query = self.path.partition("?")[2]
            location = f"http://{HOST}:{target_port}{path}" + (f"?{query}" if query else "")
            code = 302 if str(config.get("StatusCode")) == "HTTP_302" else 301
            self._answer(code, b"", {"Location": location})

        def _forward(self, groups: list[str]) -> None:
            target = pick(groups)
            if target is None:
                self._answer(503, b"503 Service Temporarily Unavailable\n")
                return
            size = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(size) if size else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-For"] = self.client_address[0]
            headers["X-Forwarded-Proto"] = str(listener.protocol).lower()
            headers["X-Forwarded-Port"] = str(listener.port)
            conn = http.client.HTTPConnection(HOST, target.port, timeout=60)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self._answer(502, b"502 Bad Gateway\n")
                return
            finally:
                conn.close()
            self._answer(response.status, data,
                         {k: v for k, v in response.getheaders()
                          if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"})

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    return Handler


def sync_listeners() -> None:
    """A local server for each listener that exists, none for those that are gone."""
    seen: set[str] = set()
    for regions in list(elbv2_backends.values()):
        for backend in list(regions.values()):
            for lb in list(backend.load_balancers.values()):
                for listener in list(lb.listeners.values()):
                    seen.add(listener.arn)
                    with _LOCK:
                        if listener.arn in _SERVERS:
                            continue
                    server = ThreadingHTTPServer((HOST, 0), _handler(listener))
                    server.daemon_threads = True
                    threading.Thread(target=server.serve_forever, daemon=True).start()
                    with _LOCK:
                        _SERVERS[listener.arn] = (server, int(server.server_address[1]))
    with _LOCK:
        gone = [arn for arn in _SERVERS if arn not in seen]
        stopping = [_SERVERS.pop(arn)[0] for arn in gone]
    for server in stopping:
        threading.Thread(target=server.shutdown, daemon=True).start()


def listeners() -> list[dict[str, Any]]:
    """Every served listener: its load balancer's DNS name, protocol, port, local URL."""
    found = []
    for regions in list(elbv2_backends.values()):
        for backend in list(regions.values()):
            for lb in list(backend.load_balancers.values()):
                for listener in list(lb.listeners.values()):
                    port = local_port(listener.arn)
                    if port is None:
                        continue
                    found.append({"load_balancer": lb.name, "dns_name": lb.dns_name,
                                  "protocol": listener.protocol, "port": int(listener.port),
                                  "url": f"http://{HOST}:{port}/",
                                  "redirect": all(getattr(a, "type", "") == "redirect"
                                                  for a in listener.default_actions)})
    return sorted(found, key=lambda f: (f["dns_name"], f["port"]))


def _loop() -> None:
    while True:
        with contextlib.suppress(Exception):
            sync_listeners()
        with contextlib.suppress(Exception):
            check_once()
        threading.Event().wait(min(SYNC_SECONDS, PROBE_SECONDS))


def start() -> None:
    """The listener and health-check loop, once per process."""
    if _STARTED.is_set():
        return
    _STARTED.set()
    threading.Thread(target=_loop, name="albproxy", daemon=True).start()
