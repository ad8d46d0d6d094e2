"""Values the schema accepts but AWS refuses, caught at params time (exit 2).

Each check cites what AWS documents. The allowed instance classes and types come
from the data cfn-lint ships (its regional enums, gathered from the pricing
APIs), so they follow cfn-lint upgrades instead of a list kept here.
"""

from __future__ import annotations

import functools
import ipaddress
import mmap
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import msgspec

from generator.config import Environment, IamStatement
from generator.config.schedule import schedule_problem, timezone_problem

Problem = tuple[tuple[str | int, ...], str]

# CloudFormation stack tags: at most 50, key 1-128 characters without the `aws:`
# prefix, value 1-256 (CloudFormation API reference, Tag; CreateStack, Tags).
MAX_TAGS = 50
# render.py adds stackgen:project, :env, :stack; the engine adds :version and :commit.
OWN_TAGS = 5
# DNS: a label is 1-63 octets of letters, digits and hyphens, neither first nor last a
# hyphen; a name at most 253 characters (RFC 1035 2.3.1; Route 53 developer guide,
# "DNS domain name format").
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# ELBv2 Matcher: HttpCode 200-499 for an Application Load Balancer, GrpcCode 0-99;
# several values ("200,202") or a range ("200-299") (ELB API reference, Matcher).
_CODES = re.compile(r"^\d{1,3}(-\d{1,3})?(,\d{1,3}(-\d{1,3})?)*$")


def dns_name_problem(name: str) -> str | None:
    name = name.rstrip(".")
    if len(name) > 253:
        return f"is {len(name)} characters; a DNS name has at most 253"
    for label in name.split("."):
        if len(label) > 63:
            return f"label '{label[:20]}...' is {len(label)} characters; a DNS label has at most 63"
        if not _LABEL.match(label):
            return (f"label '{label}' is not a DNS label: lower-case letters, digits and "
                    "hyphens, not starting or ending with a hyphen")
    return None


def matcher_problem(codes: str, grpc: bool) -> str | None:
    low_ok, high_ok, example = (0, 99, "12") if grpc else (200, 499, "200,302 or 200-299")
    if not _CODES.match(codes):
        return f"{codes!r} is not a list or range of status codes; write e.g. {example!r} (quoted)"
    for part in codes.split(","):
        low, _, high = part.partition("-")
        lo, hi = int(low), int(high or low)
        if not (low_ok <= lo <= hi <= high_ok):
            return (f"{codes!r}: codes must lie in {low_ok}-{high_ok} with ranges low-high; "
                    f"write e.g. {example!r}")
    return None


class _Enum(msgspec.Struct, frozen=True):
    enum: list[str] = []


class _Const(msgspec.Struct, frozen=True):
    const: str = ""


class _IfProps(msgspec.Struct, frozen=True):
    Engine: _Const = _Const()


class _If(msgspec.Struct, frozen=True):
    properties: _IfProps = _IfProps()


class _ThenProps(msgspec.Struct, frozen=True):
    DBInstanceClass: _Enum = _Enum()


class _Then(msgspec.Struct, frozen=True):
    properties: _ThenProps = _ThenProps()


class _Rule(msgspec.Struct, frozen=True, rename={"if_": "if"}):
    if_: _If = _If()
    then: _Then = _Then()


class _RdsRegion(msgspec.Struct, frozen=True):
    allOf: list[_Rule] = []


@functools.cache
def cfnlint_extensions() -> Path | None:
    # find_spec locates the package without importing it (importing cfn-lint costs ~1 s).
    spec = find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas" / "extensions"


def _region_json(folder: str, filename: str, region: str) -> bytes | None:
    """One region's part of a cfn-lint regional file, without reading or decoding the
    others (the RDS file is 3.6 MB; mapped, only the region's pages are touched). The
    files are pretty-printed with one-space indentation, so a region's key is the only
    line starting with one space and a quote."""
    base = cfnlint_extensions()
    if base is None:
        return None
    try:
        with (base / folder / filename).open("rb") as f, \
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            start = data.find(b'\n "' + region.encode() + b'": ')
            if start < 0:
                return None
            body = data.find(b":", start + 3) + 1
            end = data.find(b'\n "', body)
            if end < 0:  # the last region: up to the closing brace of the whole file
                end = data.rfind(b"}")
            return bytes(data[body:end]).strip().rstrip(b",")
    except (OSError, ValueError):
        return None


@functools.cache
def ec2_instance_types(region: str) -> frozenset[str] | None:
    chunk = _region_json("aws_ec2_instance",
                         "instancetype_enum.json", region)
    if chunk is None:
        return None
    try:
        return frozenset(msgspec.json.decode(chunk, type=_Enum).enum) or None
    except msgspec.DecodeError:
        return None


@functools.cache
def rds_instance_classes(region: str, engine: str) -> frozenset[str] | None:
    chunk = _region_json("aws_rds_dbinstance",
                         "dbinstanceclass_enum.json", region)
    if chunk is None:
        return None
    try:
        rules = msgspec.json.decode(chunk, type=_RdsRegion).allOf
    except msgspec.DecodeError:
        return None
    found = {c for r in rules if r.if_.properties.Engine.const == engine
             for c in r.then.properties.DBInstanceClass.enum}
    return frozenset(found) or None


def _unknown(value: str, allowed: frozenset[str], what: str, region: str) -> str:
    from difflib import get_close_matches  # only for a hint: off the start-up path
    close = get_close_matches(value, sorted(allowed), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"e.g. '{min(allowed)}'"
    return f"'{value}' is not {what} offered in {region} (cfn-lint's data); {hint}"


# AWS APIs take integers as 32-bit (Integer in every API reference); YAML's have no bound.
MAX_INT = 2**31 - 1


def _int_problems(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _int_problems(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _int_problems(item, (*path, i))
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        yield path, f"{value} is beyond what AWS takes (at most {MAX_INT}); use a real size"


def aws_problems(cfg: Environment) -> Iterator[Problem]:
    """Each value AWS would refuse, with its key path and the fix."""
    yield from _int_problems(msgspec.to_builtins(cfg))
    for loc, name in ((("dns", "domain"), cfg.dns.domain), (("dns", "zone", "name"), cfg.dns.zone.name)):
        problem = dns_name_problem(name)
        if problem:
            yield loc, problem
    yield from _tag_problems(cfg.tags)
    hc = cfg.alb.target_group.health_check
    problem = matcher_problem(hc.matcher, cfg.alb.target_group.protocol_version == "GRPC")
    if problem:
        yield ("alb", "target_group", "health_check", "matcher"), problem
    if len(hc.path) > 1024:  # ELB API reference, HealthCheckPath: 1-1024 characters
        yield ("alb", "target_group", "health_check", "path"), "is longer than 1024 characters"
    yield from _network_problems(cfg)
    yield from _id_problems(cfg)
    yield from _iam_problems(cfg)
    yield from _listener_problems(cfg)
    yield from _schedule_problems(cfg, datetime.now(UTC))
    if not cfg.ecs.container.image.strip() or any(c.isspace() for c in cfg.ecs.container.image):
        yield ("ecs", "container", "image"), "is not an image reference; write e.g. 'nginx:1.27'"
    yield from _cidr_problems(cfg)
    if not cfg.ecs.fargate:
        types = ec2_instance_types(cfg.region)
        if types and cfg.asg.instance_type not in types:
            yield ("asg", "instance_type"), _unknown(cfg.asg.instance_type, types,
                                                      "an EC2 instance type", cfg.region)
    classes = rds_instance_classes(cfg.region, cfg.rds.engine)
    if classes and cfg.rds.instance_class not in classes:
        yield ("rds", "instance_class"), _unknown(cfg.rds.instance_class, classes,
                                                  f"a DB instance class for {cfg.rds.engine}",
                                                  cfg.region)


def _tag_problems(tags: dict[str, str]) -> Iterator[Problem]:
    if len(tags) + OWN_TAGS > MAX_TAGS:
        yield ("tags",), (f"{len(tags)} tags; a stack takes at most {MAX_TAGS} and stackgen adds "
                          f"{OWN_TAGS}, so keep at most {MAX_TAGS - OWN_TAGS}")
    for key, value in tags.items():
        loc = ("tags", key)
        odd = sorted({c for c in key + value if not _tag_char(c)})
        if not 1 <= len(key) <= 128:
            yield loc, f"a tag key has 1 to 128 characters, this one {len(key)}; shorten it"
        elif key.lower().startswith("aws:"):
            yield loc, "the 'aws:' prefix is reserved for AWS's own tags; rename the key"
        elif key.lower().startswith("stackgen:"):
            yield loc, "the 'stackgen:' prefix is stackgen's own; rename the key"
        elif not 1 <= len(value) <= 256:
            yield loc, (f"a tag value has 1 to 256 characters, this one {len(value)}; "
                        "shorten it (or drop the tag)")
        elif odd:
            yield loc, (f"{''.join(odd)!r} cannot be in a tag: letters, digits, spaces and "
                        "+ - = . _ : / @ only (stack tags are copied to every resource)")


def _tag_char(c: str) -> bool:
    # Stack tags propagate to the stack's resources, and most services allow only
    # letters, numbers, spaces and + - = . _ : / @ (AWS General Reference, "Tagging
    # AWS resources", tag naming limits).
    return c.isalnum() or c == " " or c in "+-=._:/@"


_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_ZONE_ID = re.compile(r"^Z[0-9A-Z]{1,31}$")


def _id_problems(cfg: Environment) -> Iterator[Problem]:
    # EC2 ids are the prefix and 8 or 17 hex digits (EC2 user guide, "Resource IDs");
    # Route 53 hosted zone ids are upper-case letters and digits starting with Z.
    net = cfg.network
    if net.mode == "existing":
        if net.vpc_id and not _VPC_ID.match(net.vpc_id):
            yield (("network", "vpc_id"),
                   f"'{net.vpc_id}' is not a VPC id; write e.g. 'vpc-0a1b2c3d4e5f67890'")
        for key, ids in (("public_subnet_ids", net.public_subnet_ids),
                         ("private_subnet_ids", net.private_subnet_ids)):
            for i, subnet in enumerate(ids):
                if not _SUBNET_ID.match(subnet):
                    yield (("network", key, i),
                           f"'{subnet}' is not a subnet id; write e.g. 'subnet-0a1b2c3d4e5f67890'")
    zone_id = cfg.dns.zone.id
    if zone_id and not _ZONE_ID.match(zone_id.removeprefix("/hostedzone/")):
        yield (("dns", "zone", "id"),
               f"'{zone_id}' is not a hosted zone id; write e.g. 'Z0123456789ABCDEFGHIJ'")


# A policy's Resource is "*" or an ARN: arn:partition:service:region:account-id:resource,
# region and account empty where the service has none (S3, IAM), "*" or "aws" (AWS's
# managed policies) in the account (IAM user guide, "IAM JSON policy elements: Resource";
# "IAM identifiers", ARNs).
_RESOURCE_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov|aws-iso[a-z-]*):[a-z0-9*-]+:"
                           r"[a-z0-9*-]*:(\d{12}|[0-9*]{1,12}|aws|):\S+")


def _statements(cfg: Environment) -> Iterator[tuple[tuple[str | int, ...], IamStatement]]:
    """Every task role statement of the app and of each workload, with its key path."""
    ecs = cfg.ecs
    for i, s in enumerate(ecs.task_role_statements):
        yield ("ecs", "task_role_statements", i), s
    for kind, workloads in (("tasks", ecs.tasks), ("services", ecs.services), ("jobs", ecs.jobs)):
        for name, w in workloads.items():
            for i, s in enumerate(w.task_role_statements):
                yield ("ecs", kind, name, "task_role_statements", i), s


def _iam_problems(cfg: Environment) -> Iterator[Problem]:
    for loc, statement in _statements(cfg):
        for j, resource in enumerate(statement.resources):
            if resource != "*" and not _RESOURCE_ARN.fullmatch(resource):
                yield ((*loc, "resources", j),
                       f"'{resource}' is not an ARN (arn:partition:service:region:account:"
                       "resource) or '*'; write the resource's ARN, e.g. "
                       "'arn:aws:s3:::my-bucket/*'")


# Listener rules (ELB user guide, "Quotas for your Application Load Balancers", Rules:
# 5 condition values and 5 condition wildcards per rule; ELB API reference,
# HostHeaderConditionConfig and RuleCondition: a host name is at most 128 characters of
# A-Z, a-z, 0-9, - . * ?, with at least one "." and only letters after the last;
# PathPatternConditionConfig and RuleCondition: a path pattern is at most 128 characters
# of A-Z, a-z, 0-9, _ - . $ / ~ " ' @ : + & * ?). A request's path starts with "/", so a
# pattern that does not never matches.
RULE_VALUES = 5
RULE_WILDCARDS = 5
_HOST = re.compile(r"[A-Za-z0-9.*?-]{1,128}")
_PATH = re.compile(r"[A-Za-z0-9_.$/~\"'@:+&*?-]{1,128}")


def _host_problem(host: str) -> str | None:
    if "://" in host or "/" in host:
        return (f"'{host}' is a URL; a host condition is the host name alone, e.g. "
                "'api.example.com' (put a path in paths)")
    if any(c.isspace() or c == "," for c in host.strip()):
        return (f"'{host}' holds more than one host; list each host as its own item")
    if ":" in host:
        return f"'{host}' has a port; a host condition is the host name alone"
    if not _HOST.fullmatch(host):
        return (f"'{host}' is not a host name: at most 128 of letters, digits, '-', '.', "
                "and the wildcards '*' and '?'")
    last = host.rsplit(".", 1)
    if len(last) < 2 or not last[1].isalpha():
        return (f"'{host}': a host condition needs a '.' and only letters after the last "
                "one, e.g. 'api.example.com' or '*.example.com'")
    return None


def _path_problem(path: str) -> str | None:
    if not _PATH.fullmatch(path):
        return (f"'{path}' is not a path pattern: at most 128 of letters, digits, "
                "_ - . $ / ~ \" ' @ : + & and the wildcards '*' and '?'")
    return None


def _listener_problems(cfg: Environment) -> Iterator[Problem]:
    for name, svc in cfg.ecs.services.items():
        if svc.rule is None:
            continue
        loc: tuple[str | int, ...] = ("ecs", "services", name, "rule")
        for key, values, check in (("hosts", svc.rule.hosts, _host_problem),
                                   ("paths", svc.rule.paths, _path_problem)):
            for i, value in enumerate(values):
                problem = check(value)
                if problem:
                    yield (*loc, key, i), problem
        values = [*svc.rule.hosts, *svc.rule.paths]
        if len(values) > RULE_VALUES:
            yield loc, (f"{len(svc.rule.hosts)} hosts and {len(svc.rule.paths)} paths: a "
                        f"listener rule takes at most {RULE_VALUES} condition values in all; "
                        "use fewer, or a wildcard")
        wildcards = sum(v.count("*") + v.count("?") for v in values)
        if wildcards > RULE_WILDCARDS:
            yield loc, (f"{wildcards} wildcards ('*', '?') in hosts and paths: a listener "
                        f"rule takes at most {RULE_WILDCARDS}; use fewer")


def _schedule_problems(cfg: Environment, now: datetime) -> Iterator[Problem]:
    """Each job's schedule and time zone as EventBridge Scheduler takes them
    (generator/config/schedule.py); a one-time at() must be later than ``now``."""
    for name, job in cfg.ecs.jobs.items():
        loc: tuple[str | int, ...] = ("ecs", "jobs", name)
        problem = timezone_problem(job.timezone)
        if problem:
            yield (*loc, "timezone"), problem
            continue
        problem = schedule_problem(job.schedule, job.timezone, now)
        if problem:
            yield (*loc, "schedule"), problem


def _network_problems(cfg: Environment) -> Iterator[Problem]:
    net = cfg.network
    if net.mode != "create":
        return
    if cfg.availability_zones is not net.availability_zones:
        return  # a target's own zones: checked with the target (config/rules.py)
    for i, zone in enumerate(net.availability_zones):
        # An AZ name is its region's name plus a letter (or a local zone's suffix).
        if not zone.startswith(cfg.region):
            yield (("network", "availability_zones", i),
                   f"'{zone}' is not in region {cfg.region}; use e.g. '{cfg.region}a'")
    if len(set(net.availability_zones)) != len(net.availability_zones):
        yield ("network", "availability_zones"), "lists an availability zone twice"


def _cidr_problems(cfg: Environment) -> Iterator[Problem]:
    checks: list[tuple[tuple[str | int, ...], str]] = []
    if cfg.network.mode == "create":
        checks.append((("network", "cidr"), cfg.network.cidr))
    checks += [(("alb", "ingress_cidrs", i), c) for i, c in enumerate(cfg.alb.ingress_cidrs)]
    for loc, text in checks:
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            yield loc, f"'{text}' is not a CIDR block ({exc}); write e.g. '10.0.0.0/16'"
            continue
        # VPC CIDR blocks are IPv4 between /16 and /28 (Amazon VPC user guide, "VPC CIDR blocks").
        if loc == ("network", "cidr") and (net.version != 4 or not 16 <= net.prefixlen <= 28):
            yield loc, f"'{text}': a VPC's CIDR block is IPv4 between /16 and /28"
