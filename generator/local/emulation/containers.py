"""ECS tasks run for real: each task the ECS emulation starts runs its containers in Docker.

Loaded into the endpoint's own process; on only when the endpoint was started with
containers on (``stackgen local up --containers``, see docs/local-endpoint.md, "Containers").
The container agent's behaviour followed here, each from its AWS source:

- An image that is neither in the local Docker nor pullable (no registry is reachable here)
  stops the task with ``CannotPullContainerError`` (ECS developer guide, "Amazon ECS stopped
  task error codes"; "CannotPullContainer task errors"). An image whose architecture is not
  the task's ``runtimePlatform.cpuArchitecture`` fails as Fargate fails it: "image Manifest
  does not contain descriptor matching platform 'linux/arm64'" (same page).
- Secrets (``valueFrom`` a Secrets Manager ARN, with ``:json-key::`` selectors, or an SSM
  parameter) are read from the endpoint's own Secrets Manager and SSM when the task starts
  (developer guide, "Pass sensitive data to an Amazon ECS container"); a secret that cannot be
  read stops the task with ``ResourceInitializationError: unable to pull secrets or registry
  auth``. Values reach the container through the environment of the ``docker create`` process
  (``-e NAME`` with no value): never on a command line, in a file or in a log.
- ``dependsOn`` START, COMPLETE, SUCCESS, HEALTHY as the ECS API reference's
  ContainerDependency defines them ("SUCCESS ... also requires that the container exits
  with a zero status"); a condition that can no longer hold leaves the dependent container
  unstarted, and the task stops when no essential container can run.
- An essential container that exits stops the task with stoppedReason "Essential container
  in task exited" and stopCode EssentialContainerExited (developer guide, "Checking stopped
  tasks for errors"; DescribeTasks ``stopCode``); a task that never ran its containers has
  stopCode TaskFailedToStart. Each container's exit code is in DescribeTasks.
- ``healthCheck`` runs as Docker's health check (the agent hands it to Docker: ecs-agent
  ``dockerapi`` ``HealthConfig``); ``portMappings`` publish on 127.0.0.1, each host port a
  free local port (several emulated instances share this machine); ``user``,
  ``readonlyRootFilesystem``, ``linuxParameters`` (capabilities, initProcessEnabled, tmpfs),
  scratch volumes (no ``host.sourcePath``: a Docker volume that goes with the task),
  ``stopTimeout``, ``memory``.
- ``awslogs`` ships each line to the endpoint's CloudWatch Logs, stream
  ``<awslogs-stream-prefix>/<container name>/<task id>`` (developer guide, "Send Amazon ECS
  logs to CloudWatch"); a missing log group without ``awslogs-create-group`` stops the task
  with ``ResourceInitializationError``.

This module's room: a task's containers over time (start in ``dependsOn`` order, watch,
stop, ship logs) and the endpoint's Docker network; how one container definition becomes
``docker create`` arguments is containers_spec.py's.

Not emulated (documented in docs/local-endpoint.md): awsvpc's shared network namespace (the
containers of a task share a Docker network and reach each other by container name), task
and execution role credentials, EFS volumes, FireLens, GPU and ulimits.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.local.emulation.containers_spec import (
    DOCKER,
    SecretReader,
    TaskStartFailed,
    create_args,
    dependency_state,
    image_problem,
    order,
)
from generator.local.emulation.containers_spec import (
    HOST as HOST,  # re-exported: ecs_containers reads containers.HOST
)
from generator.local.emulation.containers_spec import docker as _docker

LABEL = "io.stackgen.local-endpoint"
ESSENTIAL_EXITED = "Essential container in task exited"
POLL_SECONDS = 0.2


# What the tasks' containers call the endpoint's gateway address, where its CA bundle is
# served (rds_engine.serve_ca_bundle): the local env's rds.ca_bundle_url names it. `.internal`
# is reserved for private use (ICANN board resolution 2024.07.29.06), never a public name.
CA_BUNDLE_HOST = "rds-ca.stackgen.internal"
NETWORK_FILE = "containers-network.json"  # in the state dir: the network's subnet, kept


class Settings:
    """The endpoint's containers setting, fixed when its process starts."""

    enabled = False
    endpoint_id = "default"  # names this endpoint's Docker objects (its port)
    state_dir: Path | None = None  # where the network's subnet is recorded
    gateway: str | None = None  # the network's gateway address, once it exists


SETTINGS = Settings()


def configure(enabled: bool, endpoint_id: str, state_dir: Path | None = None) -> None:
    SETTINGS.enabled = enabled
    SETTINGS.endpoint_id = endpoint_id
    SETTINGS.state_dir = state_dir


def docker_available(timeout: float = 5.0) -> bool:
    """A Docker CLI whose daemon answers."""
    if shutil.which(DOCKER) is None:
        return False
    try:
        done = subprocess.run([DOCKER, "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


# --- one running task -------------------------------------------------------------------


@dataclass
class ContainerRun:
    definition: dict[str, Any]
    docker_name: str
    status: str = "PENDING"  # PENDING, RUNNING, STOPPED
    exit_code: int | None = None
    health: str = "UNKNOWN"
    reason: str = ""
    ports: dict[int, int] = field(default_factory=dict)
    created: bool = False

    @property
    def name(self) -> str:
        return str(self.definition["name"])

    @property
    def essential(self) -> bool:
        return bool(self.definition.get("essential", True))


LogSink = Callable[[str, str, list[tuple[int, str]]], None]


class TaskRun:
    """The containers of one ECS task in Docker, driven by one thread."""

    def __init__(self, task_arn: str, task_id: str, definition: dict[str, Any],
                 read_secret: SecretReader, log_sink: LogSink,
                 log_group_exists: Callable[[str], bool],
                 on_stopped: Callable[[TaskRun], None], time_scale: float = 1.0,
                 command_override: dict[str, list[str]] | None = None) -> None:
        self.task_arn = task_arn
        self.task_id = task_id
        self.definition = definition
        self.read_secret = read_secret
        self.log_sink = log_sink
        self.log_group_exists = log_group_exists
        self.on_stopped = on_stopped
        self.time_scale = time_scale
        prefix = f"stackgen-{SETTINGS.endpoint_id}-{task_id[:12]}"
        self.containers = [ContainerRun(dict(c, command=(command_override or {}).get(
            str(c["name"]), c.get("command"))), f"{prefix}-{c['name']}")
            for c in order(list(definition.get("containerDefinitions") or []))]
        self.status = "PENDING"
        self.stopped_reason = ""
        self.stop_requested = ""
        self._thread: threading.Thread | None = None
        self._log_threads: list[threading.Thread] = []
        self.changed = threading.Condition()

    # -- public ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"task-{self.task_id[:8]}",
                                        daemon=True)
        self._thread.start()

    def stop(self, reason: str) -> None:
        """Stop the task from outside (StopTask, a deployment, the service's deletion)."""
        with self.changed:
            if self.status == "STOPPED":
                return
            self.stop_requested = reason
            self.changed.notify_all()

    def wait(self, predicate: Callable[[TaskRun], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, POLL_SECONDS))
        return True

    def host_port(self, container_name: str, container_port: int) -> int | None:
        for c in self.containers:
            if c.name == container_name:
                return c.ports.get(container_port)
        return None

    def container(self, name: str) -> ContainerRun | None:
        return next((c for c in self.containers if c.name == name), None)

    def describe_exit(self) -> str:
        """The essential container that stopped the task, with its exit code, for messages."""
        for c in self.containers:
            if c.essential and c.status == "STOPPED":
                return (f"container {c.name} exited with code {c.exit_code}"
                        + (f" ({c.reason})" if c.reason else ""))
        return self.stopped_reason

    # -- the task's life --------------------------------------------------------------

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def _run(self) -> None:
        try:
            self._prepare()
            self._drive()
        except TaskStartFailed as exc:
            self._finish(str(exc))
        except Exception as exc:  # the task stops; the endpoint stays up
            self._finish(f"CannotStartContainerError: {exc}")

    def _prepare(self) -> None:
        platform = (self.definition.get("runtimePlatform") or {}).get("cpuArchitecture")
        for c in self.containers:
            problem = image_problem(str(c.definition["image"]), platform)
            if problem:
                raise TaskStartFailed(problem)
            logs = c.definition.get("logConfiguration") or {}
            options = logs.get("options") or {}
            if logs.get("logDriver") == "awslogs" and \
                    str(options.get("awslogs-create-group", "false")).lower() != "true" and \
                    not self.log_group_exists(str(options.get("awslogs-group"))):
                raise TaskStartFailed(
                    "ResourceInitializationError: failed to validate logger args: The "
                    f"specified log group does not exist: {options.get('awslogs-group')}")
        network = ensure_network()
        volumes = {str(v.get("name")): v for v in self.definition.get("volumes") or []}
        labels = {LABEL: SETTINGS.endpoint_id, f"{LABEL}.task": self.task_arn}
        for c in self.containers:
            secrets: dict[str, str] = {}
            for secret in c.definition.get("secrets") or []:
                try:
                    secrets[str(secret["name"])] = self.read_secret(str(secret["valueFrom"]))
                except Exception as exc:  # any read failure stops the task
                    raise TaskStartFailed(
                        "ResourceInitializationError: unable to pull secrets or registry "
                        f"auth: unable to retrieve secret from asm: {secret['valueFrom']}: "
                        f"{exc}") from None
            hosts = {CA_BUNDLE_HOST: SETTINGS.gateway} if SETTINGS.gateway else {}
            args, ports = create_args(c.docker_name, c.definition, volumes, network, labels,
                                      sorted(secrets), self.time_scale, hosts)
            # Secret values only in the docker client's environment (``-e NAME``).
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(secrets)
            created = _docker(*args, env=env)
            if created.returncode != 0:
                raise TaskStartFailed(f"CannotCreateContainerError: {created.stderr.strip()}")
            c.created = True
            c.ports = ports

    def _drive(self) -> None:
        with self.changed:
            self.status = "RUNNING"
        while True:
            if self.stop_requested:
                self._finish(self.stop_requested)
                return
            self._refresh()
            for c in self.containers:
                if c.status == "PENDING":
                    verdict = self._dependencies(c)
                    if verdict is True:
                        self._start(c)
                    elif verdict is False:
                        c.status = "STOPPED"
                        c.reason = "dependency condition will never be satisfied"
            essential_stopped = [c for c in self.containers
                                 if c.essential and c.status == "STOPPED"]
            if essential_stopped:
                self._finish(ESSENTIAL_EXITED)
                return
            if all(c.status == "STOPPED" for c in self.containers):
                self._finish(ESSENTIAL_EXITED)
                return
            with self.changed:
                self.changed.notify_all()
                self.changed.wait(POLL_SECONDS)

    def _dependencies(self, c: ContainerRun) -> bool | None:
        verdicts = []
        for dep in c.definition.get("dependsOn") or []:
            other = self.container(str(dep["containerName"]))
            if other is None:
                return False
            verdicts.append(dependency_state(str(dep["condition"]), other.status,
                                             other.exit_code, other.health))
        if any(v is False for v in verdicts):
            return False
        return True if all(v is True for v in verdicts) else None

    def _start(self, c: ContainerRun) -> None:
        started = _docker("start", c.docker_name)
        if started.returncode != 0:
            c.status, c.exit_code = "STOPPED", None
            c.reason = f"CannotStartContainerError: {started.stderr.strip()}"
            return
        c.status = "RUNNING"
        options = (c.definition.get("logConfiguration") or {})
        if options.get("logDriver") == "awslogs":
            thread = threading.Thread(target=self._ship_logs, args=(c, options.get("options")
                                                                    or {}), daemon=True)
            thread.start()
            self._log_threads.append(thread)

    def _refresh(self) -> None:
        running = [c for c in self.containers if c.status == "RUNNING"]
        if not running:
            return
        found = _docker("inspect", "--format", "{{json .State}}",
                        *[c.docker_name for c in running], timeout=30)
        states = [line for line in found.stdout.splitlines() if line.strip()]
        for c, line in zip(running, states, strict=False):
            state = json.loads(line)
            health = (state.get("Health") or {}).get("Status")
            if health:
                c.health = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}.get(health,
                                                                                "UNKNOWN")
            if state.get("Status") in ("exited", "dead"):
                c.status = "STOPPED"
                c.exit_code = int(state.get("ExitCode", 0))
                if state.get("OOMKilled"):
                    c.reason = "OutOfMemoryError: Container killed due to memory usage"

    def _ship_logs(self, c: ContainerRun, options: dict[str, Any]) -> None:
        group = str(options.get("awslogs-group"))
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{c.name}/{self.task_id}" if prefix else c.docker_name
        with subprocess.Popen([DOCKER, "logs", "--follow", "--timestamps", c.docker_name],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace") as proc:
            assert proc.stdout is not None
            for raw in proc.stdout:
                stamp, _, message = raw.rstrip("\n").partition(" ")
                self.log_sink(group, stream, [(_millis(stamp), message)])

    def _finish(self, reason: str) -> None:
        for c in self.containers:
            if c.status == "RUNNING":
                stopped = _docker("stop", "-t", str(int(c.definition.get("stopTimeout", 2))),
                                  c.docker_name, timeout=120)
                c.status = "STOPPED"
                if stopped.returncode == 0:
                    code = _docker("inspect", "--format", "{{.State.ExitCode}}", c.docker_name)
                    with contextlib.suppress(ValueError):
                        c.exit_code = int(code.stdout.strip())
            elif c.status == "PENDING":
                c.status = "STOPPED"
        for thread in self._log_threads:
            thread.join(timeout=5)  # the last lines reach the log group before STOPPED
        names = [c.docker_name for c in self.containers if c.created]
        if names:
            _docker("rm", "-f", "-v", *names, timeout=120)
        with self.changed:
            self.status = "STOPPED"
            self.stopped_reason = reason
            self.changed.notify_all()
        self.on_stopped(self)


def _millis(stamp: str) -> int:
    """Docker's RFC 3339 timestamp (nanoseconds) as epoch milliseconds."""
    from datetime import datetime

    try:
        head, _, frac = stamp.rstrip("Z").partition(".")
        seconds = datetime.fromisoformat(head + "+00:00").timestamp()
        return int(seconds * 1000) + int((frac + "000")[:3])
    except ValueError:
        return int(time.time() * 1000)


_NETWORK_LOCK = threading.Lock()


def network_name() -> str:
    return f"stackgen-{SETTINGS.endpoint_id}"


def recorded_subnet() -> dict[str, str]:
    """The subnet and gateway the network had (``NETWORK_FILE``), or {} the first time."""
    if SETTINGS.state_dir is None:
        return {}
    try:
        data = json.loads((SETTINGS.state_dir / NETWORK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if isinstance(data, dict) and isinstance(data.get("subnet"), str) and \
            isinstance(data.get("gateway"), str):
        return {"subnet": data["subnet"], "gateway": data["gateway"]}
    return {}


def _inspect_subnet(name: str) -> dict[str, str]:
    found = _docker("network", "inspect", "--format", "{{json .IPAM.Config}}", name)
    if found.returncode != 0:
        return {}
    configs = json.loads(found.stdout or "null") or []
    for config in configs:
        if config.get("Subnet") and ":" not in config["Subnet"]:
            return {"subnet": str(config["Subnet"]), "gateway": str(config.get("Gateway") or "")}
    return {}


def ensure_network() -> str:
    """The endpoint's own Docker network (a bridge). The first time Docker picks its subnet
    from its default pools, and the subnet is recorded in the state dir; after `local down`
    and `local up` the network is made again on that subnet, so the gateway address (the
    DBs' Endpoint.Address, in the stacks' outputs) stays the same."""
    name = network_name()
    with _NETWORK_LOCK:
        if _docker("network", "inspect", name).returncode != 0:
            recorded = recorded_subnet()
            fixed = (["--subnet", recorded["subnet"], "--gateway", recorded["gateway"]]
                     if recorded else [])
            made = _docker("network", "create", "--label", f"{LABEL}={SETTINGS.endpoint_id}",
                           *fixed, name)
            if made.returncode != 0 and "already exists" not in made.stderr:
                where = (f" on the subnet {recorded['subnet']} it had (recorded in "
                         f"{SETTINGS.state_dir / NETWORK_FILE if SETTINGS.state_dir else '?'}: "
                         "the DBs' addresses are in it; free that subnet, or delete the file "
                         "and recreate the env)" if recorded else "")
                raise TaskStartFailed(f"CannotCreateContainerError: the endpoint's Docker "
                                      f"network {name}{where}: {made.stderr.strip()}")
        current = _inspect_subnet(name)
        if not current.get("gateway"):
            raise TaskStartFailed(f"CannotCreateContainerError: the Docker network {name} "
                                  "has no IPv4 gateway")
        SETTINGS.gateway = current["gateway"]
        if SETTINGS.state_dir is not None and current != recorded_subnet():
            SETTINGS.state_dir.mkdir(parents=True, exist_ok=True)
            (SETTINGS.state_dir / NETWORK_FILE).write_text(json.dumps(current),
                                                           encoding="utf-8")
    return name


def remove_all(endpoint_id: str) -> None:
    """Containers and the network of an endpoint that stops (``local down``)."""
    listed = _docker("ps", "-aq", "--filter", f"label={LABEL}={endpoint_id}")
    ids = listed.stdout.split()
    if ids:
        _docker("rm", "-f", "-v", *ids, timeout=120)
    _docker("network", "rm", f"stackgen-{endpoint_id}")
