"""Units (issue 24): an env's targets expanded as data before any AWS call; one env is a
list of one, each unit rendered at its own account and region."""

from __future__ import annotations

from generator.deploy.units import Unit, expand, target_overrides
from generator.params import load_env
from generator.render import Rendered, render
from tests.conftest import ROOT

TARGETS = ['targets=[{"account": "123456789012", "region": "us-east-1"}, '
           '{"account": "111111111111", "region": "us-east-1", '
           '"role_arn": "arn:aws:iam::111111111111:role/deployer"}]']


def _render(name: str, overrides: tuple[str, ...]) -> Rendered:
    return render(load_env(ROOT / "params", name, overrides), ROOT / "templates")


def test_an_env_without_targets_is_one_unit_named_as_the_env() -> None:
    [unit] = expand(["local"], (), _render)
    assert (unit.env, unit.target, unit.label) == ("local", None, "local")
    assert unit.rendered.env.config.account_id == "123456789012"


def test_an_env_with_targets_is_one_unit_per_target_rendered_there() -> None:
    units = expand(["local", "local2"], tuple(TARGETS), _render)
    assert [u.label for u in units] == [
        "local@123456789012/us-east-1", "local@111111111111/us-east-1",
        "local2@123456789012/us-east-1", "local2@111111111111/us-east-1"]
    other = units[1]
    assert other.target is not None and other.target.role_arn.endswith("role/deployer")
    cfg = other.rendered.env.config
    assert cfg.account_id == "111111111111"
    # what the unit was rendered with: apply renders a target's plan the same way
    assert other.overrides == (*TARGETS, *target_overrides(other.target))
    assert isinstance(other, Unit)
