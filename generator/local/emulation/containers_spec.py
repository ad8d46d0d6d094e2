"""A task definition's containers as Docker sees them: the ``docker create`` arguments of
one container (ports published on 127.0.0.1, health check, user, read-only root, Linux
parameters, scratch volumes, stop timeout, memory), the order ``dependsOn`` gives, whether a
dependency's condition holds (ECS API reference, ContainerDependency), and an image that
cannot run on the task's ``runtimePlatform`` (ECS developer guide, "CannotPullContainer
task errors").

This module's room: turning a definition into Docker's terms, and the Docker CLI it calls;
running a task's containers over time is containers.py's.
"""


import os
import shlex
import socket
import subprocess
from collections.abc import Callable
from typing import Any

DOCKER = os.environ.get("STACKGEN_DOCKER", "docker")
HOST = "127.0.0.1"
# uname -m / Docker's Architecture per ECS runtimePlatform.cpuArchitecture.
ARCHITECTURES = {"X86_64": ("amd64", "x86_64"), "ARM64": ("arm64", "aarch64")}
PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}


def docker(*args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])

# --- what a task definition asks for -------------------------------------------------------


class TaskStartFailed(Exception):
    """The task stops before its containers run; the message is ECS's stoppedReason."""


SecretReader = Callable[[str], str]


def image_problem(image: str, cpu_architecture: str | None) -> str | None:
    """ECS's stoppedReason when ``image`` cannot run here, else None."""
    found = docker("image", "inspect", "--format", "{{.Architecture}}", image, timeout=30)
    if found.returncode != 0:
        return (f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                f"failed to resolve ref \"{image}\": the image is not in the local Docker and "
                "no registry is reachable from the local endpoint")
    arch = found.stdout.strip()
    wanted = (cpu_architecture or "X86_64").upper()
    if arch and wanted in ARCHITECTURES and arch not in ARCHITECTURES[wanted]:
        return ("CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                f"image Manifest does not contain descriptor matching platform "
                f"'{PLATFORMS[wanted]}' (the local image {image} is linux/{arch})")
    return None


def health_command(check: dict[str, Any]) -> str | None:
    """Docker's --health-cmd (shell form) for an ECS healthCheck command."""
    command = list(check.get("command") or [])
    if not command:
        return None
    if command[0] == "CMD-SHELL":
        return " ".join(command[1:])
    if command[0] == "CMD":
        return shlex.join(command[1:])
    return shlex.join(command)


def create_args(name: str, container: dict[str, Any], volumes: dict[str, dict[str, Any]],
                network: str, labels: dict[str, str], secret_names: list[str],
                time_scale: float = 1.0,
                hosts: dict[str, str] | None = None) -> tuple[list[str], dict[int, int]]:
    """``docker create`` arguments for one container definition (camelCase, as ECS has it),
    and the host ports chosen for its container ports. Secret values are not in them:
    ``-e NAME`` takes the value from the environment of the docker process."""
    args = ["create", "--name", name, "--network", network,
            "--network-alias", str(container["name"])]
    for host, address in sorted((hosts or {}).items()):
        args += ["--add-host", f"{host}:{address}"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    for var in container.get("environment") or []:
        args += ["-e", f"{var['name']}={var['value']}"]
    for secret in secret_names:
        args += ["-e", secret]
    if container.get("user"):
        args += ["--user", str(container["user"])]
    if container.get("readonlyRootFilesystem"):
        args.append("--read-only")
    linux = container.get("linuxParameters") or {}
    caps = linux.get("capabilities") or {}
    for cap in caps.get("drop") or []:
        args += ["--cap-drop", str(cap)]
    for cap in caps.get("add") or []:
        args += ["--cap-add", str(cap)]
    if linux.get("initProcessEnabled"):
        args.append("--init")
    for tmpfs in linux.get("tmpfs") or []:
        options = ",".join(str(o) for o in tmpfs.get("mountOptions") or [])
        size = f"size={int(tmpfs.get('size', 64))}m"
        args += ["--tmpfs", f"{tmpfs['containerPath']}:{','.join(filter(None, [size, options]))}"]
    for mount in container.get("mountPoints") or []:
        volume = volumes.get(str(mount.get("sourceVolume")), {})
        source = ((volume.get("host") or {}).get("sourcePath"))
        target = str(mount["containerPath"])
        read_only = ",readonly" if mount.get("readOnly") else ""
        if source:
            args += ["--mount", f"type=bind,source={source},target={target}{read_only}"]
        else:  # a scratch volume: it lives and goes with the task
            args += ["--mount", f"type=volume,target={target}{read_only}"]
    if container.get("stopTimeout") is not None:
        args += ["--stop-timeout", str(int(container["stopTimeout"]))]
    if container.get("memory"):
        args += ["--memory", f"{int(container['memory'])}m"]
    ports: dict[int, int] = {}
    for mapping in container.get("portMappings") or []:
        container_port = int(mapping["containerPort"])
        ports[container_port] = free_port()
        protocol = str(mapping.get("protocol") or "tcp")
        args += ["-p", f"{HOST}:{ports[container_port]}:{container_port}/{protocol}"]
    check = container.get("healthCheck") or {}
    command = health_command(check)
    if command:
        # The check's own numbers, divided by the latency model's time scale.
        def seconds(key: str, default: float) -> str:
            return f"{max(0.1, float(check.get(key, default)) / time_scale):g}s"
        args += ["--health-cmd", command,
                 "--health-interval", seconds("interval", 30),
                 "--health-timeout", seconds("timeout", 5),
                 "--health-retries", str(int(check.get("retries", 3))),
                 "--health-start-period", seconds("startPeriod", 0)]
    entry = container.get("entryPoint")
    if entry:
        args += ["--entrypoint", str(entry[0])]
    args.append(str(container["image"]))
    if entry:
        args += [str(a) for a in entry[1:]]
    args += [str(a) for a in container.get("command") or []]
    return args, ports


def dependency_state(condition: str, status: str, exit_code: int | None,
                     health: str) -> bool | None:
    """Whether a ``dependsOn`` condition holds (True), may still (None), or never will (False)."""
    exited = status == "STOPPED"
    if condition == "START":
        return True if status in ("RUNNING", "STOPPED") else None
    if condition == "COMPLETE":
        return True if exited else None
    if condition == "SUCCESS":
        if not exited:
            return None
        return exit_code == 0
    if condition == "HEALTHY":
        if health == "HEALTHY":
            return True
        return False if exited or health == "UNHEALTHY" else None
    return None


def order(containers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Containers in start order: each after those it depends on (definition order otherwise)."""
    by_name = {str(c["name"]): c for c in containers}
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path or name not in by_name:
            return
        for dep in by_name[name].get("dependsOn") or []:
            visit(str(dep["containerName"]), (*path, name))
        done.append(name)

    for c in containers:
        visit(str(c["name"]), ())
    return [by_name[n] for n in done]


