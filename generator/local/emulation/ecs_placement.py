"""Where ECS can place a service's tasks: pure logic, no moto.

Models what the ECS developer guide documents:
- "How Amazon ECS places tasks on container instances" (task-placement): an instance
  qualifies when it has the task's cpu and memory unreserved, its static host ports free,
  and it satisfies every placement constraint (``distinctInstance``, ``memberOf``);
- "Task definition parameters", task size and port mappings: task-level cpu/memory are
  what is reserved when given, else the containers' sum (memoryReservation, else memory);
  in ``bridge`` mode hostPort 0 or absent is a dynamic port, in ``host`` mode the
  container port is the host port; ``awsvpc`` tasks get their own interface;
- "Deploy Amazon ECS services by replacing tasks" (rolling update): new tasks start beside
  the old ones while at most ``maximumPercent`` of the desired count runs, and old tasks stop
  only while at least ``minimumHealthyPercent`` stays running;
- "Amazon ECS service event messages": the text ECS gives when no instance fits.
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass, field
from typing import Any

NO_INSTANCE = ("service {service} was unable to place a task because no container instance met "
               "all of its requirements.")
CLOSEST = " The closest matching container-instance {instance} {why}."
MORE = " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."


class PlacementError(Exception):
    """ECS cannot place (or roll out) a service's tasks; the message is ECS's event text."""


@dataclass(frozen=True)
class Need:
    """What one task reserves on a container instance."""

    cpu: int
    memory: int
    ports: frozenset[int]


@dataclass
class Host:
    """A registered container instance during a placement run."""

    id: str
    instance_type: str
    attributes: dict[str, str]
    cpu: int
    memory: int
    ports: set[int] = field(default_factory=set)
    service_tasks: int = 0  # tasks of the service being placed (distinctInstance)


def task_need(task_definition: dict[str, Any]) -> Need:
    """cpu, memory and static host ports of a task definition (ECS API's camelCase)."""
    containers = task_definition.get("containerDefinitions") or []
    cpu = _int(task_definition.get("cpu")) or sum(_int(c.get("cpu")) for c in containers)
    memory = _int(task_definition.get("memory")) or sum(
        _int(c.get("memoryReservation")) or _int(c.get("memory")) for c in containers)
    mode = task_definition.get("networkMode") or "bridge"
    ports: set[int] = set()
    if mode in ("bridge", "host"):
        for container in containers:
            for mapping in container.get("portMappings") or []:
                port = _int(mapping.get("hostPort"))
                if mode == "host":
                    port = port or _int(mapping.get("containerPort"))
                if port:
                    ports.add(port)
    return Need(cpu, memory, frozenset(ports))


def _int(value: Any) -> int:
    try:
        return int(str(value)) if value not in (None, "") else 0
    except ValueError:  # "1 vCPU" / "2 GB" forms
        number = float(re.sub(r"[^0-9.]", "", str(value)) or 0)
        return int(number * 1024)


_CLAUSE = re.compile(r"^attribute:(?P<attr>[\w.\-]+)\s*(?P<op>==|!=|=~|!~|in|not_in)\s*"
                     r"(?P<value>.+)$")


def member_of(expression: str, host: Host) -> bool:
    """The cluster query language's attribute clauses, joined by ``and``/``or``
    (ECS developer guide, "Create expressions to define container instances")."""
    for alternative in re.split(r"\s+or\s+", expression.strip()):
        if all(_clause(clause, host) for clause in re.split(r"\s+and\s+", alternative)):
            return True
    return False


def _clause(clause: str, host: Host) -> bool:
    match = _CLAUSE.match(clause.strip().strip("()").strip())
    if not match:
        raise PlacementError(f"memberOf expression '{clause}' is not understood by the "
                             "local endpoint (it reads attribute:<name> ==|!=|=~|!~|in|not_in)")
    actual = host.attributes.get(match["attr"], "")
    value = match["value"].strip()
    values = [v.strip() for v in value.strip("[]").split(",")] if value.startswith("[") else [value]
    hit = any(fnmatch.fnmatchcase(actual, v) for v in values)
    return hit if match["op"] in ("==", "=~", "in") else not hit


@dataclass(frozen=True)
class Rules:
    service: str
    distinct_instance: bool
    member_of: tuple[str, ...]


def rules_from(service: str, constraints: list[dict[str, Any]]) -> Rules:
    distinct = any(c.get("type") == "distinctInstance" for c in constraints)
    member = tuple(c.get("expression", "") for c in constraints if c.get("type") == "memberOf")
    return Rules(service, distinct, member)


def place_one(hosts: list[Host], need: Need, rules: Rules) -> Host:
    """The host a task goes on (binpack-like: fewest tasks of the service first), or
    PlacementError with ECS's reason for the closest match."""
    eligible = [h for h in hosts if all(member_of(e, h) for e in rules.member_of)]
    if not hosts:
        raise PlacementError(NO_INSTANCE.format(service=rules.service)
                             + " Reason: No Container Instances were found in your cluster." + MORE)
    if not eligible:
        raise PlacementError(NO_INSTANCE.format(service=rules.service) + CLOSEST.format(
            instance=hosts[0].id, why="does not match the placement constraint memberOf("
            + ", ".join(rules.member_of) + ")") + MORE)
    reasons: list[tuple[int, Host, str]] = []
    for host in sorted(eligible, key=lambda h: (h.service_tasks, -h.memory)):
        why = _why_not(host, need, rules)
        if why is None:
            return host
        reasons.append((len(reasons), host, why))
    _, closest, why = reasons[0]
    raise PlacementError(NO_INSTANCE.format(service=rules.service)
                         + CLOSEST.format(instance=closest.id, why=why) + MORE)


def _why_not(host: Host, need: Need, rules: Rules) -> str | None:
    if rules.distinct_instance and host.service_tasks:
        return "is already running a task of this service (placement constraint distinctInstance)"
    if need.cpu > host.cpu:
        return "has insufficient CPU units available"
    if need.memory > host.memory:
        return "has insufficient memory available"
    if need.ports & host.ports:
        return "is already using a port required by your task"
    return None


def take(host: Host, need: Need) -> None:
    host.cpu -= need.cpu
    host.memory -= need.memory
    host.ports |= need.ports
    host.service_tasks += 1


def give_back(host: Host, need: Need) -> None:
    host.cpu += need.cpu
    host.memory += need.memory
    host.ports -= need.ports
    host.service_tasks -= 1


@dataclass(frozen=True)
class Rollout:
    """Which old tasks stop and where the new ones go (host ids; None on Fargate)."""

    stop: tuple[str, ...]
    start: tuple[str | None, ...]


def roll_out(hosts: list[Host] | None, old: list[tuple[str, str | None, Need]], need: Need,
             desired: int, rules: Rules, minimum_percent: int, maximum_percent: int) -> Rollout:
    """Replace ``old`` tasks (task id, host id, need) by ``desired`` new ones within the
    deployment's limits; ``hosts`` None means Fargate (every task finds capacity).

    Each round stops the old tasks the minimum healthy percent allows, then starts new
    tasks up to the maximum percent; a round that changes nothing means the deployment
    can never finish, which ECS reports as the placement failure that blocks it."""
    floor = math.ceil(desired * minimum_percent / 100)
    ceiling = math.floor(desired * maximum_percent / 100)
    by_id = {h.id: h for h in hosts or []}
    running = list(old)
    stopped: list[str] = []
    started: list[str | None] = []
    while running or len(started) < desired:
        progressed = False
        while running and len(running) + len(started) > floor:
            task_id, host_id, old_need = running.pop(0)
            if host_id in by_id:
                give_back(by_id[host_id], old_need)
            stopped.append(task_id)
            progressed = True
        blocked: PlacementError | None = None
        while len(started) < desired and len(running) + len(started) < ceiling:
            if hosts is None:
                started.append(None)
            else:
                try:
                    host = place_one(hosts, need, rules)
                except PlacementError as exc:
                    blocked = exc
                    break
                take(host, need)
                started.append(host.id)
            progressed = True
        if not progressed:
            if blocked is not None:
                raise blocked
            raise PlacementError(
                f"service {rules.service} cannot roll out: with {len(running)} old task(s) "
                f"running, minimumHealthyPercent {minimum_percent} and maximumPercent "
                f"{maximum_percent} of {desired} allow neither stopping nor starting a task")
    return Rollout(tuple(stopped), tuple(started))
