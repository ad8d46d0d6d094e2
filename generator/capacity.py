"""EC2 instance sizes as ECS sees them: how many tasks of a size one instance holds.

The ECS agent registers less memory than the instance type advertises (kernel
and platform overhead: an m4.large with 8 GiB registers 7985 MiB, ECS developer
guide, "Reserving Amazon ECS Linux container instance memory"); cpu registers as
1024 units per vCPU.
"""

from __future__ import annotations

# instance type: (vCPUs, advertised memory in MiB)
INSTANCE_TYPES: dict[str, tuple[int, int]] = {
    "t2.micro": (1, 1024), "t2.small": (1, 2048), "t2.medium": (2, 4096),
    "t3.nano": (2, 512), "t3.micro": (2, 1024), "t3.small": (2, 2048), "t3.medium": (2, 4096),
    "t3.large": (2, 8192), "t3.xlarge": (4, 16384),
    "t4g.micro": (2, 1024), "t4g.small": (2, 2048), "t4g.medium": (2, 4096),
    "m5.large": (2, 8192), "m5.xlarge": (4, 16384), "m6i.large": (2, 8192),
    "m6g.large": (2, 8192), "m7g.large": (2, 8192), "m4.large": (2, 8192),
    "c5.large": (2, 4096), "c6i.large": (2, 4096), "c6g.large": (2, 4096),
    "r5.large": (2, 16384),
}
# The documented m4.large registers 7985 of 8192 MiB; scaled for other sizes.
REGISTERED_FRACTION = 7985 / 8192


def registrable(instance_type: str) -> tuple[int, int] | None:
    """(cpu units, memory MiB) the agent registers, or None for an unknown type."""
    size = INSTANCE_TYPES.get(instance_type)
    if size is None:
        return None
    vcpus, memory = size
    return vcpus * 1024, int(memory * REGISTERED_FRACTION)


def tasks_per_instance(instance_type: str, cpu: int, memory: int,
                       one_only: bool = False) -> int | None:
    """Tasks of ``cpu`` units and ``memory`` MiB one instance holds (0: none fit);
    ``one_only`` for a static host port or a distinctInstance constraint."""
    reg = registrable(instance_type)
    if reg is None:
        return None
    fit = min(reg[0] // cpu if cpu else 10**6, reg[1] // memory if memory else 10**6)
    return min(fit, 1) if one_only else fit
