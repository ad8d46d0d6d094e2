"""What a check sees (the rendered env), what it says (findings), and its base class."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec

from generator.cfndoc import resources
from generator.config import Environment
from generator.context import Names
from generator.graph import Graph
from generator.render import Rendered
from generator.yamlsrc import load_cfn

if TYPE_CHECKING:
    from generator.forecast.account import Account

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


class Finding(msgspec.Struct, frozen=True):
    """One predicted problem: which check, how bad, where, what happens, and the fix."""

    check_id: str
    title: str
    severity: Severity
    stack: str
    resource: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.check_id, "title": self.title, "severity": self.severity,
                "stack": self.stack, "resource": self.resource, "message": self.message,
                "fix": self.fix}


class Subject(msgspec.Struct, dict=True):
    """The env as rendered: config, graph and every stack's parsed template."""

    rendered: Rendered
    options: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def cfg(self) -> Environment:
        return self.rendered.env.config

    @property
    def env(self) -> str:
        return self.rendered.env.name

    @property
    def names(self) -> Names:
        return self.rendered.names

    @property
    def graph(self) -> Graph:
        return self.rendered.graph

    @cached_property
    def templates(self) -> dict[str, dict[str, Any]]:
        return {name: load_cfn(s.template) for name, s in self.rendered.stacks.items()}

    def stack_name(self, stack: str) -> str:
        return self.rendered.stacks[stack].stack_name

    def upstream_closure(self, stack: str) -> set[str]:
        """Every stack that finishes before ``stack`` starts (deploy), after it (delete)."""
        seen: set[str] = set()
        todo = list(self.graph.stacks[stack].upstream)
        while todo:
            up = todo.pop()
            if up not in seen:
                seen.add(up)
                todo.extend(self.graph.stacks[up].upstream)
        return seen

    def resources(self, *types: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(stack, logical id, resource) of the given types, in graph order."""
        for stack in self.graph.order:
            for logical, res in resources(self.templates[stack], *types):
                yield stack, logical, res


def depends_on(resource: dict[str, Any]) -> set[str]:
    value = resource.get("DependsOn") or []
    return {value} if isinstance(value, str) else set(value)


class Check:
    """One forecast check. Subclasses set the class attributes and implement ``run``."""

    id: ClassVar[str]
    title: ClassVar[str]
    needs_account: ClassVar[bool] = False
    source: ClassVar[str] = ""  # the document that says AWS behaves so

    def run(self, subject: Subject, account: Account | None) -> list[Finding]:
        raise NotImplementedError

    def finding(self, severity: Severity, stack: str, resource: str, message: str,
                fix: str) -> Finding:
        return Finding(self.id, self.title, severity, stack, resource, message, fix)


class AccountCheck(Check):
    """A check that asks the account (read-only); skipped by ``--offline``."""

    needs_account = True

    def run(self, subject: Subject, account: Account | None) -> list[Finding]:
        assert account is not None, "the runner gives account checks an account"
        return self.ask(subject, account)

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        raise NotImplementedError
