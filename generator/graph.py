"""The stack graph, derived from the inputs each stack declares.

``templates/stacks.yaml`` says, per stack, which CloudFormation Parameter reads
which upstream Output. Conditions pick the inputs that exist in an env; edges,
order and cycle checks all follow from those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from pathlib import Path
from typing import Any

import msgspec
import yaml

from generator.errors import GraphError
from generator.yamlsrc import load_plain

STACKS_FILE = "stacks.yaml"


class Input(msgspec.Struct, frozen=True):
    """One CloudFormation Parameter fed by an upstream stack's Output."""

    param: str
    stack: str
    output: str

    @property
    def ref(self) -> str:
        return f"{self.stack}.{self.output}"


class Stack(msgspec.Struct, frozen=True):
    name: str
    inputs: tuple[Input, ...] = ()
    # Stacks this one waits for without reading their outputs (`after:`).
    after: tuple[str, ...] = ()

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(sorted({i.stack for i in self.inputs} | set(self.after)))


class Graph(msgspec.Struct, frozen=True):
    stacks: dict[str, Stack] = msgspec.field(default_factory=dict)

    @property
    def order(self) -> list[str]:
        """Topological order; ties broken by declaration order for stable output."""
        done: list[str] = []
        pending = list(self.stacks)
        while pending:
            ready = [s for s in pending if all(u in done for u in self.stacks[s].upstream)]
            if not ready:  # cycles are rejected in build_graph; guard anyway
                raise GraphError(f"cycle among stacks {', '.join(pending)}")
            done.append(ready[0])
            pending.remove(ready[0])
        return done

    def downstream(self, name: str) -> list[str]:
        return [s for s in self.order if name in self.stacks[s].upstream]

    def edges(self) -> list[tuple[str, str, list[str]]]:
        """(upstream, downstream, outputs) for every edge, in graph order."""
        out: list[tuple[str, str, list[str]]] = []
        for name in self.order:
            by_up: dict[str, list[str]] = {}
            for i in self.stacks[name].inputs:
                by_up.setdefault(i.stack, []).append(i.output)
            out.extend((up, name, sorted(set(outs))) for up, outs in sorted(by_up.items()))
        return out


def _parse_ref(stack: str, param: str, ref: Any, source: Path) -> tuple[str, str]:
    if not isinstance(ref, str) or ref.count(".") != 1:
        raise GraphError(
            f"{source}: {stack}.inputs.{param}: expected 'stack.Output', got {ref!r}"
        )
    up, out = ref.split(".")
    return up, out


def load_spec(templates_dir: Path) -> dict[str, Any]:
    source = templates_dir / STACKS_FILE
    try:
        spec = load_plain(source.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise GraphError(f"{source}: file not found; every templates dir needs one") from None
    except yaml.YAMLError as exc:
        raise GraphError(f"{source}: malformed YAML: {exc}".splitlines()[0]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"{source}: cannot read it ({exc}); it must be a UTF-8 YAML file") from None
    if not isinstance(spec, dict):
        raise GraphError(f"{source}: expected a mapping of stack names")
    for name, body in spec.items():  # the shape build_graph relies on, checked once here
        if body is not None and not isinstance(body, dict):
            raise GraphError(f"{source}: stack '{name}' must be a mapping (inputs, when), "
                             f"not {type(body).__name__}")
        if not isinstance((body or {}).get("inputs") or {}, dict):
            raise GraphError(f"{source}: {name}.inputs must map parameter names to "
                             "stack.Output references")
        if not isinstance((body or {}).get("when") or "", str):
            raise GraphError(f"{source}: {name}.when must name a condition")
    return spec


def build_graph(spec: Mapping[str, Any], conditions: Set[str], source: Path) -> Graph:
    """Select the stacks and inputs that hold under ``conditions``, then check the graph."""
    stacks: dict[str, Stack] = {}
    for name, body in spec.items():
        body = body or {}
        when = body.get("when")
        if when and when not in conditions:
            continue
        inputs = []
        for param, ref in (body.get("inputs") or {}).items():
            if isinstance(ref, dict):
                chosen = [r for cond, r in ref.items() if cond in conditions]
                if not chosen:
                    continue
                ref = chosen[0]
            up, out = _parse_ref(name, param, ref, source)
            inputs.append(Input(param, up, out))
        # An order an input already implies needs no second edge.
        after = [a for a in _after(name, body.get("after"), conditions, source)
                 if a not in {i.stack for i in inputs}]
        stacks[name] = Stack(name, tuple(inputs), tuple(after))
    for stack in stacks.values():
        for i in stack.inputs:
            if i.stack not in stacks:
                raise GraphError(
                    f"{source}: {stack.name}.{i.param} reads {i.ref}, but stack "
                    f"'{i.stack}' is not in this env; declare it or guard the input"
                )
        for up in stack.after:
            if up not in stacks:
                raise GraphError(
                    f"{source}: {stack.name}.after names '{up}', which is not in this env; "
                    "declare it or guard it with a condition ({cond: stack})"
                )
    _check_cycles(stacks, source)
    return Graph(stacks)


def _after(stack: str, spec: Any, conditions: Set[str], source: Path) -> tuple[str, ...]:
    """`after: [a, {cond: b}]`: order-only dependencies, each optionally guarded."""
    if spec is None:
        return ()
    if not isinstance(spec, list):
        raise GraphError(f"{source}: {stack}.after: expected a list of stack names, got {spec!r}")
    names: list[str] = []
    for item in spec:
        if isinstance(item, dict):
            names += [str(v) for cond, v in item.items() if cond in conditions]
        elif isinstance(item, str):
            names.append(item)
        else:
            raise GraphError(f"{source}: {stack}.after: expected a stack name, got {item!r}")
    return tuple(sorted(set(names)))


def _check_cycles(stacks: Mapping[str, Stack], source: Path) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            # Shown in data-flow direction (output -> reader), as the graph prints.
            loop = [*chain[chain.index(name) :], name][::-1]
            raise GraphError(f"{source}: cycle in stack inputs: {' -> '.join(loop)}")
        state[name] = 1
        for up in stacks[name].upstream:
            visit(up, [*chain, name])
        state[name] = 2

    for name in stacks:
        visit(name, [])


def check_outputs(graph: Graph, outputs: Mapping[str, Set[str]], source: Path) -> None:
    """Every input must name an Output that its upstream's rendered template declares."""
    for name in graph.order:
        for i in graph.stacks[name].inputs:
            if i.output not in outputs.get(i.stack, set()):
                known = ", ".join(sorted(outputs.get(i.stack, set()))) or "none"
                raise GraphError(
                    f"{source}: {name}.{i.param} reads {i.ref}, which stack '{i.stack}' "
                    f"does not output (it outputs: {known})"
                )


def to_text(graph: Graph) -> str:
    lines = []
    for name in graph.order:
        ups = graph.stacks[name].upstream
        lines.append(f"{name}" + (f"  <- {', '.join(ups)}" if ups else ""))
        for i in graph.stacks[name].inputs:
            lines.append(f"    {i.param} = {i.ref}")
        for up in graph.stacks[name].after:
            lines.append(f"    after {up}")
    return "\n".join(lines) + "\n"


def to_mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    lines += [f"    {name}" for name in graph.order if not graph.stacks[name].upstream]
    for up, down, outs in graph.edges():
        lines.append(f"    {up} -- \"{', '.join(outs)}\" --> {down}")
    for name in graph.order:
        lines += [f"    {up} -. after .-> {name}" for up in graph.stacks[name].after]
    return "\n".join(lines) + "\n"
