"""An env's `targets` in other regions (issue 25): each target's render is checked
against its own region's availability zones, so a second region can deploy."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import ParamsError
from generator.params import load_env
from generator.render import render

TWO_REGIONS = """
targets:
  - {account: "123456789012", region: us-east-1}
  - {account: "210987654321", region: eu-west-1, availability_zones: [eu-west-1a, eu-west-1b]}
"""


def _with_targets(project: Path, text: str) -> None:
    with (project / "params" / "dev.yaml").open("a") as f:
        f.write(text)


def test_each_target_renders_with_its_own_regions_zones(project: Path) -> None:
    _with_targets(project, TWO_REGIONS)
    env = load_env(project / "params", "dev")
    zones = {}
    for target in env.config.targets:
        # What `deploy|plan|delete` render per target: the env's params made the target's.
        source = load_env(project / "params", "dev", target.overrides())
        cfg = source.config
        assert (cfg.region, cfg.account_id) == (target.region, target.account)
        zones[target.region] = cfg.availability_zones
        # and the network stack's subnets go there
        network = render(source, project / "templates").stacks["network"].params_json
        assert f'"{target.region}a,{target.region}b"' in network
    assert zones == {"us-east-1": ["us-east-1a", "us-east-1b"],
                     "eu-west-1": ["eu-west-1a", "eu-west-1b"]}


def test_a_target_in_another_region_without_zones_is_refused_at_params_time(
        project: Path) -> None:
    _with_targets(project, '\ntargets:\n  - {account: "210987654321", region: eu-west-1}\n')
    with pytest.raises(ParamsError) as err:
        load_env(project / "params", "dev")
    message = str(err.value)
    assert message.startswith(f"{project / 'params' / 'dev.yaml'}:")
    assert "network.availability_zones (us-east-1a, us-east-1b) are not in eu-west-1" in message
    assert "availability_zones: [eu-west-1a, eu-west-1b]" in message


@pytest.mark.parametrize(("zones", "says"), [
    ("[us-east-1a, us-east-1b]", "'us-east-1a' is not in the target's region eu-west-1"),
    ("[eu-west-1a]", "two or more distinct AZs"),
])
def test_a_targets_own_zones_are_checked(project: Path, zones: str, says: str) -> None:
    _with_targets(project, "\ntargets:\n  - {account: \"210987654321\", region: eu-west-1, "
                           f"availability_zones: {zones}}}\n")
    with pytest.raises(ParamsError, match="availability_zones") as err:
        load_env(project / "params", "dev")
    assert says in str(err.value)
