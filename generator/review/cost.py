"""Monthly cost before → after, per stack and for the env, from the deployed and
the rendered templates with their parameter values and a dated price snapshot.

Fixed monthly charges are priced (instances, volumes, load balancer hours, NAT
gateways, public IPv4 addresses, databases, Fargate tasks, secrets, hosted
zones, alarms); usage-based ones (LCUs, data processed, log ingestion) are
listed as "plus usage", never guessed. Tasks on EC2 cost the instances they
need beyond what the Auto Scaling group already runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import msgspec

from generator.capacity import tasks_per_instance
from generator.cfndoc import resolved_resources
from generator.review.prices import PriceBook, RegionPrices


class CostLine(msgspec.Struct, kw_only=True):
    resource: str
    before: str = ""  # what is billed, e.g. "2 × t3.small"
    after: str = ""
    before_usd: float = 0.0
    after_usd: float = 0.0

    @property
    def delta(self) -> float:
        return self.after_usd - self.before_usd


class StackCost(msgspec.Struct, kw_only=True):
    stack: str
    before_usd: float = 0.0
    after_usd: float = 0.0
    lines: list[CostLine] = []
    usage: list[str] = []  # usage-based charges not priced


class EnvCost(msgspec.Struct, kw_only=True):
    region: str
    currency: str
    as_of: str
    source: str
    before_usd: float = 0.0
    after_usd: float = 0.0
    stacks: list[StackCost] = []
    missing: str = ""  # why nothing was priced (a region the snapshot lacks)

    @property
    def delta(self) -> float:
        return self.after_usd - self.before_usd


class Side(msgspec.Struct, frozen=True):
    """One stack's template and parameter values, deployed or rendered."""

    doc: Mapping[str, Any]
    params: Mapping[str, str]

    def resources(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {name: (rtype, props)
                for name, rtype, props in resolved_resources(self.doc, self.params)}


EMPTY = Side({}, {})


class Item(msgspec.Struct, frozen=True):
    resource: str
    what: str
    usd: float


class Fleet(msgspec.Struct, frozen=True):
    """The EC2 capacity an Auto Scaling group runs: what tasks on EC2 are placed on."""

    instance_type: str
    count: int


def _ref(value: Any) -> str | None:
    return str(value["Ref"]) if isinstance(value, dict) and "Ref" in value else None


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


class Pricer:
    def __init__(self, prices: RegionPrices, hours: int) -> None:
        self.p = prices
        self.hours = hours

    def _hourly(self, table: Mapping[str, float], key: str) -> float:
        return table.get(key, math.nan) * self.hours

    def fleets(self, side: Side) -> list[Fleet]:
        resources = side.resources()
        out = []
        for _, (rtype, props) in resources.items():
            if rtype != "AWS::AutoScaling::AutoScalingGroup":
                continue
            lt = resources.get(_ref((props.get("LaunchTemplate") or {}).get("LaunchTemplateId"))
                               or "", ("", {}))[1]
            data = lt.get("LaunchTemplateData") or {}
            # Without DesiredCapacity (a scaler owns it) the group starts at MinSize.
            count = _int(props.get("DesiredCapacity", props.get("MinSize")), 0)
            out.append(Fleet(str(data.get("InstanceType", "?")), count))
        return out

    def items(self, side: Side, fleets: list[Fleet]) -> tuple[list[Item], list[str]]:
        resources = side.resources()
        items: list[Item] = []
        usage: list[str] = []
        for name, (rtype, props) in sorted(resources.items()):
            handler = getattr(self, "_" + rtype.replace("::", "_").lower(), None)
            if handler is not None:
                got, more = handler(name, props, resources, fleets)
                items += got
                usage += more
        return items, usage

    # --- one method per resource type, named after it -------------------------------

    def _aws_autoscaling_autoscalinggroup(self, name: str, props: dict[str, Any],
                                          resources: dict[str, tuple[str, dict[str, Any]]],
                                          fleets: list[Fleet]) -> tuple[list[Item], list[str]]:
        lt = resources.get(_ref((props.get("LaunchTemplate") or {}).get("LaunchTemplateId"))
                           or "", ("", {}))[1]
        data = lt.get("LaunchTemplateData") or {}
        count = _int(props.get("DesiredCapacity", props.get("MinSize")), 0)
        itype = str(data.get("InstanceType", "?"))
        items = [Item(name, f"{count} × {itype}",
                      count * self._hourly(self.p.ec2_instance_hour, itype))]
        for mapping in data.get("BlockDeviceMappings") or []:
            ebs = mapping.get("Ebs") or {} if isinstance(mapping, dict) else {}
            size, vtype = _int(ebs.get("VolumeSize"), 0), str(ebs.get("VolumeType", "gp2"))
            if size:
                items.append(Item(f"{name} volumes", f"{count} × {size} GiB {vtype}",
                                  count * size * self.p.ebs_gb_month.get(vtype, math.nan)))
        return items, []

    def _aws_ec2_natgateway(self, name: str, props: dict[str, Any], *_: Any
                            ) -> tuple[list[Item], list[str]]:
        return [Item(name, "NAT gateway", self.hours * (self.p.nat_gateway_hour or math.nan))], \
            [f"{name}: data processed"]

    def _aws_ec2_eip(self, name: str, props: dict[str, Any], *_: Any
                     ) -> tuple[list[Item], list[str]]:
        return [Item(name, "public IPv4 address",
                     self.hours * (self.p.public_ipv4_hour or math.nan))], []

    def _aws_elasticloadbalancingv2_loadbalancer(self, name: str, props: dict[str, Any],
                                                 *_: Any) -> tuple[list[Item], list[str]]:
        network = props.get("Type") == "network"
        hourly = self.p.nlb_hour if network else self.p.alb_hour
        items = [Item(name, "network LB" if network else "application LB",
                      self.hours * (hourly or math.nan))]
        if props.get("Scheme", "internet-facing") == "internet-facing":
            subnets = props.get("Subnets") or props.get("SubnetMappings") or []
            # An internet-facing load balancer has a public IPv4 address in each subnet.
            n = len(subnets) if isinstance(subnets, list) else len(str(subnets).split(","))
            items.append(Item(f"{name} addresses", f"{n} public IPv4",
                              n * self.hours * (self.p.public_ipv4_hour or math.nan)))
        return items, [f"{name}: {'NLCUs' if network else 'LCUs'} and data processed"]

    def _aws_rds_dbinstance(self, name: str, props: dict[str, Any], *_: Any
                            ) -> tuple[list[Item], list[str]]:
        cls = str(props.get("DBInstanceClass", "?"))
        multi = str(props.get("MultiAZ", "false")).lower() == "true"
        copies = 2 if multi else 1  # Multi-AZ bills a standby instance and its storage
        size, stype = _int(props.get("AllocatedStorage"), 20), str(props.get("StorageType", "gp2"))
        az = " Multi-AZ" if multi else ""
        items = [Item(name, f"{cls}{az}", copies * self._hourly(self.p.rds_instance_hour, cls)),
                 Item(f"{name} storage", f"{size} GiB {stype}{az}",
                      copies * size * self.p.rds_storage_gb_month.get(stype, math.nan))]
        if str(props.get("ManageMasterUserPassword", "false")).lower() == "true":
            items.append(Item(f"{name} secret", "RDS-managed secret",
                              self.p.secret_month or math.nan))
        return items, [f"{name}: backups beyond the storage size, I/O"]

    def _aws_secretsmanager_secret(self, name: str, props: dict[str, Any], *_: Any
                                   ) -> tuple[list[Item], list[str]]:
        return [Item(name, "secret", self.p.secret_month or math.nan)], []

    def _aws_route53_hostedzone(self, name: str, props: dict[str, Any], *_: Any
                                ) -> tuple[list[Item], list[str]]:
        return [Item(name, "hosted zone", self.p.hosted_zone_month or math.nan)], \
            [f"{name}: DNS queries"]

    def _aws_cloudwatch_alarm(self, name: str, props: dict[str, Any], *_: Any
                              ) -> tuple[list[Item], list[str]]:
        return [Item(name, "alarm", self.p.alarm_month or math.nan)], []

    def _aws_logs_loggroup(self, name: str, props: dict[str, Any], *_: Any
                           ) -> tuple[list[Item], list[str]]:
        return [], [f"{name}: log ingestion and storage"]

    def _aws_ecs_service(self, name: str, props: dict[str, Any],
                         resources: dict[str, tuple[str, dict[str, Any]]],
                         fleets: list[Fleet]) -> tuple[list[Item], list[str]]:
        task = resources.get(_ref(props.get("TaskDefinition")) or "", ("", {}))[1]
        tasks = _tasks(name, props, resources)
        cpu, mem = _int(task.get("Cpu"), 0), _int(task.get("Memory"), 0)
        fargate = props.get("LaunchType") == "FARGATE" or (
            "LaunchType" not in props and "CapacityProviderStrategy" not in props
            and "FARGATE" in (task.get("RequiresCompatibilities") or []))
        if fargate:
            arch = str((task.get("RuntimePlatform") or {}).get("CpuArchitecture", "X86_64"))
            hourly = cpu / 1024 * self.p.fargate_vcpu_hour.get(arch, math.nan) + \
                mem / 1024 * self.p.fargate_gb_hour.get(arch, math.nan)
            items = [Item(name, f"{tasks} × Fargate {cpu / 1024:g} vCPU {mem / 1024:g} GB "
                          f"{arch}", tasks * hourly * self.hours)]
            vpc = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
            if vpc.get("AssignPublicIp") == "ENABLED":  # each task's interface gets one
                items.append(Item(f"{name} addresses", f"{tasks} public IPv4",
                                  tasks * self.hours * (self.p.public_ipv4_hour or math.nan)))
            return items, []
        if not fleets:
            return [], []
        # Every EC2 service of the stack shares the fleet: the first one prices what
        # they need together (ecs.services beside the app's own), the others nothing.
        ec2 = sorted(n for n, (t, p) in resources.items()
                     if t == "AWS::ECS::Service" and p.get("LaunchType") != "FARGATE")
        if ec2 and name != ec2[0]:
            return [], []
        fleet = fleets[0]
        needed = 0.0
        total = 0
        for svc in ec2 or [name]:
            sprops = resources[svc][1] if svc in resources else props
            stask = resources.get(_ref(sprops.get("TaskDefinition")) or "", ("", {}))[1]
            n = _tasks(svc, sprops, resources)
            port = _static_host_port(stask)
            distinct = any(c.get("Type") == "distinctInstance"
                           for c in sprops.get("PlacementConstraints") or [] if isinstance(c, dict))
            per = tasks_per_instance(fleet.instance_type, _int(stask.get("Cpu"), 0),
                                     _int(stask.get("Memory"), 0), one_only=bool(port) or distinct)
            if per is None:
                return [], [f"{name}: instance type {fleet.instance_type} is not in the table"]
            if per == 0:
                return [Item(svc, f"{n} tasks do not fit a {fleet.instance_type}", math.nan)], []
            needed += n / per
            total += n
        extra = max(0, math.ceil(needed - 1e-9) - fleet.count)
        if not extra:
            return [], []
        hourly = self.p.ec2_instance_hour.get(fleet.instance_type, math.nan)
        what = f"{total} tasks" + (f" of {len(ec2)} services" if len(ec2) > 1 else "")
        return [Item(f"{name} capacity", f"{what} need {int(extra)} more × "
                     f"{fleet.instance_type}", int(extra) * hourly * self.hours)], []


def _tasks(name: str, props: dict[str, Any],
           resources: Mapping[str, tuple[str, dict[str, Any]]]) -> int:
    """A service's tasks: its DesiredCount, else its own scalable target's minimum."""
    return _int(props.get("DesiredCount"), 0) or _min_tasks(resources, name) or 1


def _min_tasks(resources: Mapping[str, tuple[str, dict[str, Any]]], service: str) -> int:
    """The minimum of the scalable target whose ResourceId names this service."""
    for rtype, props in resources.values():
        if rtype == "AWS::ApplicationAutoScaling::ScalableTarget" and \
                f"${{{service}.Name}}" in json.dumps(props.get("ResourceId")):
            return _int(props.get("MinCapacity"), 0)
    return 0


def _static_host_port(task: Mapping[str, Any]) -> int:
    for container in task.get("ContainerDefinitions") or []:
        for mapping in (container or {}).get("PortMappings") or []:
            port = _int((mapping or {}).get("HostPort"), 0)
            if port and task.get("NetworkMode", "bridge") != "awsvpc":
                return port
    return 0


def env_cost(book: PriceBook, region: str,
             stacks: Mapping[str, tuple[Side, Side]]) -> EnvCost:
    """Cost per stack (deployed side, rendered side) and for the env, in stack order."""
    out = EnvCost(region=region, currency=book.currency, as_of=book.as_of, source=book.source)
    prices = book.region(region)
    if prices is None:
        out.missing = (f"no prices for region {region} in the snapshot of {book.as_of}; "
                       f"run `stackgen prices update --region {region}`")
        return out
    pricer = Pricer(prices, book.hours_per_month)
    fleets_before = [f for old, _ in stacks.values() for f in pricer.fleets(old)]
    fleets_after = [f for _, new in stacks.values() for f in pricer.fleets(new)]
    for stack, (old, new) in stacks.items():
        before, _ = pricer.items(old, fleets_before)
        after, usage = pricer.items(new, fleets_after)
        cost = StackCost(stack=stack, lines=_lines(before, after), usage=sorted(set(usage)))
        cost.before_usd = round(sum(i.usd for i in before), 2)
        cost.after_usd = round(sum(i.usd for i in after), 2)
        out.stacks.append(cost)
    out.before_usd = round(sum(s.before_usd for s in out.stacks), 2)
    out.after_usd = round(sum(s.after_usd for s in out.stacks), 2)
    return out


def _lines(before: list[Item], after: list[Item]) -> list[CostLine]:
    old = {i.resource: i for i in before}
    new = {i.resource: i for i in after}
    lines = []
    for name in sorted(set(old) | set(new)):
        b, a = old.get(name), new.get(name)
        lines.append(CostLine(resource=name, before=b.what if b else "",
                              after=a.what if a else "",
                              before_usd=round(b.usd, 2) if b else 0.0,
                              after_usd=round(a.usd, 2) if a else 0.0))
    return lines


def money(usd: float) -> str:
    return "unknown price" if math.isnan(usd) else f"${usd:,.2f}"


def signed(usd: float) -> str:
    if math.isnan(usd):
        return "unknown"
    return f"{'+' if usd >= 0 else '-'}${abs(usd):,.2f}"
