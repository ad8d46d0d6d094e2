"""A stack's result in a run (deploy, apply, delete): its outcome, outputs and reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.aws.status import Outcome


@dataclass
class StackResult:
    stack: str
    stack_name: str
    state: Outcome
    outputs: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.state = Outcome(self.state)

    @property
    def ok(self) -> bool:
        return self.state.ok()
