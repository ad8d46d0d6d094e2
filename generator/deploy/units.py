"""Units: what an AWS-facing command runs on, an env at one place, its targets as data.

An env without `targets:` is one unit, at its own account and region; an env with
`targets:` is one unit per target, rendered with the target's account and region. One
env is a list of one: every command takes a list of units and has one path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from generator.config import DeployTarget
from generator.render import Rendered

# Renders an env (name, --set values) and checks it, before any AWS call.
RenderEnv = Callable[[str, tuple[str, ...]], Rendered]


def label(env: str, target: DeployTarget) -> str:
    """How a target's rows and lines are named: env@account/region."""
    return f"{env}@{target.account}/{target.region}"


def target_overrides(target: DeployTarget) -> tuple[str, ...]:
    """The --set values that render an env at one of its targets."""
    return target.overrides()


class Unit(msgspec.Struct, frozen=True):
    """One env at one place: ``target`` is the `targets:` entry it is rendered for
    (None: the env's own account and region), ``rendered`` what it renders there."""

    env: str
    target: DeployTarget | None
    rendered: Rendered
    overrides: tuple[str, ...] = ()  # the --set values it was rendered with

    @property
    def label(self) -> str:
        """The env's name, or env@account/region for one of its targets."""
        return self.env if self.target is None else label(self.env, self.target)


def expand(names: Sequence[str], overrides: tuple[str, ...], render: RenderEnv) -> list[Unit]:
    """Every env rendered and checked before the first AWS call of any; an env with
    `targets` once per target, its account_id and region set from the target."""
    units = []
    for name in names:
        whole = render(name, overrides)
        targets = whole.env.config.targets
        if not targets:
            units.append(Unit(name, None, whole, overrides))
            continue
        for target in targets:
            at = (*overrides, *target_overrides(target))
            units.append(Unit(name, target, render(name, at), at))
    return units
