"""Instance types the placement checks know: vCPUs, installed and registrable memory, ENIs.

Registrable memory is what the ECS agent registers for tasks, which is less
than the installed memory: the kernel and platform keep some. The ECS developer
guide ("Reserving Amazon ECS Linux container instance memory",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/memory-management.html)
gives the m4.large example: 8 GiB installed, 8373026816 bytes seen by the OS, so
7985 MiB for tasks. We scale every type by that ratio (7985/8192) and subtract
ECS_RESERVED_MEMORY (0 unless set in ecs.config). Small types lose a little more
in practice, so the figures are an upper bound: a task that does not fit here
will not fit on AWS. CPU registers as 1024 units per vCPU.

vCPUs, memory and ENIs per type: EC2 user guide, "Amazon EC2 instance type
specifications" and "Maximum IP addresses per network interface".
"""

from __future__ import annotations

from dataclasses import dataclass

REGISTERED_RATIO = (7985, 8192)  # the guide's m4.large example
ECS_RESERVED_MEMORY_MIB = 0  # the agent's default


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int  # installed
    arch: str  # X86_64 or ARM64, as ECS task definitions spell it
    enis: int  # network interfaces; awsvpc tasks take one each, the instance keeps one

    @property
    def cpu_units(self) -> int:
        return self.vcpus * 1024

    @property
    def registrable_mib(self) -> int:
        num, den = REGISTERED_RATIO
        return self.memory_mib * num // den - ECS_RESERVED_MEMORY_MIB


_TABLE = [
    # name, vCPU, installed MiB, architecture, ENIs
    ("t2.micro", 1, 1024, "X86_64", 2),
    ("t2.small", 1, 2048, "X86_64", 3),
    ("t2.medium", 2, 4096, "X86_64", 3),
    ("t3.nano", 2, 512, "X86_64", 2),
    ("t3.micro", 2, 1024, "X86_64", 2),
    ("t3.small", 2, 2048, "X86_64", 3),
    ("t3.medium", 2, 4096, "X86_64", 3),
    ("t3.large", 2, 8192, "X86_64", 3),
    ("t3.xlarge", 4, 16384, "X86_64", 4),
    ("t3.2xlarge", 8, 32768, "X86_64", 4),
    ("t3a.micro", 2, 1024, "X86_64", 2),
    ("t3a.small", 2, 2048, "X86_64", 2),
    ("t3a.medium", 2, 4096, "X86_64", 3),
    ("t4g.micro", 2, 1024, "ARM64", 2),
    ("t4g.small", 2, 2048, "ARM64", 3),
    ("t4g.medium", 2, 4096, "ARM64", 3),
    ("m4.large", 2, 8192, "X86_64", 2),
    ("m5.large", 2, 8192, "X86_64", 3),
    ("m5.xlarge", 4, 16384, "X86_64", 4),
    ("m5.2xlarge", 8, 32768, "X86_64", 4),
    ("m6i.large", 2, 8192, "X86_64", 3),
    ("m6g.large", 2, 8192, "ARM64", 3),
    ("m7g.large", 2, 8192, "ARM64", 3),
    ("c5.large", 2, 4096, "X86_64", 3),
    ("c5.xlarge", 4, 8192, "X86_64", 4),
    ("c6g.large", 2, 4096, "ARM64", 3),
    ("r5.large", 2, 16384, "X86_64", 3),
]

INSTANCE_TYPES: dict[str, InstanceType] = {row[0]: InstanceType(*row) for row in _TABLE}


def lookup(name: str) -> InstanceType | None:
    return INSTANCE_TYPES.get(name)
