"""EC2 instance types as ECS sees them: the one table of vCPUs, installed and
registrable memory, architecture and ENIs, read by the forecast (F101-F103), the cost
review, the local endpoint's emulation (what an instance registers) and the tests.

Registrable memory is what the ECS agent registers for tasks: the memory the kernel
reports (Docker's ReadMemInfo), less ``ECS_RESERVED_MEMORY`` (0 unless set). The ECS
developer guide ("Reserving Amazon ECS Linux container instance memory",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/memory-management.html)
documents one figure: an m4.large, 8 GiB installed, 8373026816 bytes seen by the OS,
"7985 MiB available for tasks". It documents no other type. For those the table holds
an estimate below the documented ratio: the kernel's own reservations (crash kernel,
page tables, firmware) do not shrink with the instance, so a type loses at least
``KERNEL_FLOOR_MIB`` (t3.micro: 1024 - 120 = 904 MiB, not the 998 the ratio gives).
``MEASURED`` takes a figure read on a running instance
(`aws ecs describe-container-instances`, registeredResources MEMORY) over the estimate.
Checks that pack tasks keep ``MARGIN`` of it free as well (the agent, Docker and the SSM
agent live in the rest). CPU registers as 1024 units per vCPU.

vCPUs, memory and ENIs per type: EC2 user guide, "Amazon EC2 instance type
specifications" and "Maximum IP addresses per network interface".
"""

from __future__ import annotations

import msgspec

DOCUMENTED_MIB = {"m4.large": 7985}  # the ECS developer guide's example
DOCUMENTED_RATIO = (7985, 8192)
KERNEL_FLOOR_MIB = 120
MEASURED: dict[str, int] = {}  # registeredResources MEMORY seen on a running instance
ECS_RESERVED_MEMORY_MIB = 0  # the agent's default
MARGIN = 0.10  # of registrable memory, kept free by a rollout at its peak


def estimate_registrable(name: str, installed_mib: int) -> int:
    """MiB an instance of ``installed_mib`` registers: documented, measured, or the
    estimate (the documented ratio's loss, at least KERNEL_FLOOR_MIB)."""
    if name in MEASURED:
        return MEASURED[name]
    if name in DOCUMENTED_MIB:
        return DOCUMENTED_MIB[name]
    num, den = DOCUMENTED_RATIO
    return min(installed_mib * num // den, installed_mib - KERNEL_FLOOR_MIB)


class InstanceType(msgspec.Struct, frozen=True):
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
        return estimate_registrable(self.name, self.memory_mib) - ECS_RESERVED_MEMORY_MIB

    @property
    def packable_mib(self) -> int:
        """Registrable memory less the margin a rollout keeps free."""
        return int(self.registrable_mib * (1 - MARGIN))


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
    ("c6i.large", 2, 4096, "X86_64", 3),
    ("c6g.large", 2, 4096, "ARM64", 3),
    ("r5.large", 2, 16384, "X86_64", 3),
]

INSTANCE_TYPES: dict[str, InstanceType] = {row[0]: InstanceType(*row) for row in _TABLE}


def lookup(name: str) -> InstanceType | None:
    return INSTANCE_TYPES.get(name)


def registrable(instance_type: str) -> tuple[int, int] | None:
    """(cpu units, memory MiB) the agent registers, or None for an unknown type."""
    itype = INSTANCE_TYPES.get(instance_type)
    return None if itype is None else (itype.cpu_units, itype.registrable_mib)


def tasks_per_instance(instance_type: str, cpu: int, memory: int,
                       one_only: bool = False) -> int | None:
    """Tasks of ``cpu`` units and ``memory`` MiB one instance holds (0: none fit);
    ``one_only`` for a static host port or a distinctInstance constraint."""
    reg = registrable(instance_type)
    if reg is None:
        return None
    fit = min(reg[0] // cpu if cpu else 10**6, reg[1] // memory if memory else 10**6)
    return min(fit, 1) if one_only else fit
