"""Instance types the placement checks know: the one table in generator/capacity.py
(vCPUs, installed and registrable memory, architecture, ENIs), shared with the cost
review and the local endpoint's emulation."""

from __future__ import annotations

from generator.capacity import INSTANCE_TYPES, InstanceType, lookup

__all__ = ["INSTANCE_TYPES", "InstanceType", "lookup"]
