"""The env's facts (generator/views/facts.py), decided once per render."""

from __future__ import annotations

from typing import Any

import pytest

from generator.params import load_env
from generator.render import render
from generator.views import facts as facts_module
from generator.views.facts import Facts
from tests.conftest import ROOT
from tests.helpers.views import TEMPLATES


def test_facts_are_decided_once_per_render(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = Facts.of.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Facts], cfg: Any) -> Facts:
        calls.append(cfg)
        result: Facts = real(cls, cfg)
        return result

    monkeypatch.setattr(facts_module.Facts, "of", classmethod(counting))
    render(load_env(ROOT / "params", "prod"), TEMPLATES)
    assert len(calls) == 1


def test_facts_name_the_conditions_stacks_yaml_selects_by() -> None:
    prod = Facts.of(load_env(ROOT / "params", "prod").config)
    assert prod.capacity_provider and not prod.fargate
    assert prod.conditions == {"ec2", "network_create", "capacity_provider", "request_scaling"}
    fargate = Facts.of(load_env(ROOT / "params", "fargate").config)
    assert fargate.conditions == {"fargate", "network_create", "blue_green",
                                  "request_scaling_blue_green"}

