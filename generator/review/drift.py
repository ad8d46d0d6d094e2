"""Drift as data, and as the reviewer reads it: each drifted resource's property paths
with expected and actual values (detection itself is generator/deploy/drift.py)."""

from __future__ import annotations

import msgspec

from generator.aws.status import DriftState
from generator.ui import Console

DRIFTED = DriftState.DRIFTED
IN_SYNC = DriftState.IN_SYNC
NOT_DEPLOYED = DriftState.NOT_DEPLOYED
NOT_CHECKED = DriftState.NOT_CHECKED  # no resource of the stack was compared
UNKNOWN = DriftState.UNKNOWN  # detection failed or timed out: say why, never guess


class PropertyDrift(msgspec.Struct, kw_only=True, frozen=True):
    path: str
    expected: str
    actual: str
    kind: str  # ADD, REMOVE or NOT_EQUAL


class ResourceDrift(msgspec.Struct, kw_only=True):
    logical_id: str
    physical_id: str
    resource_type: str
    status: str  # MODIFIED or DELETED
    properties: list[PropertyDrift] = []


class StackDrift(msgspec.Struct, kw_only=True):
    stack: str
    stack_name: str
    status: str
    resources: list[ResourceDrift] = []  # the drifted ones
    not_checked: list[str] = []  # "LogicalId (Type)" of resources detection did not compare
    error: str = ""

    def drifted(self, logical_id: str) -> ResourceDrift | None:
        return next((r for r in self.resources if r.logical_id == logical_id), None)


def show_drift(console: Console, results: list[StackDrift]) -> None:
    """A table of stacks, then each drifted resource with its property paths."""
    console.table(["stack", "name", "drift"],
                  [[r.stack, r.stack_name, console.status(r.status)] for r in results])
    for r in results:
        if r.error:
            console.line(f"  {r.stack}: {r.error}")
        if r.not_checked:  # said, so a quiet table is not read as "all compared"
            console.line(f"  {r.stack}: NOT_CHECKED (drift not compared here): "
                         f"{', '.join(r.not_checked)}")
        for res in r.resources:
            console.line(console.style(f"{r.stack}: {res.logical_id} ({res.resource_type}, "
                                       f"{res.physical_id}) {res.status}", "yellow", bold=True))
            for p in res.properties:
                console.line(f"    {p.path} ({p.kind}): expected {p.expected}, "
                             f"actual {p.actual}")
