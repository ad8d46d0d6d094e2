"""The price snapshot and its bulk-file parser (generator/review/prices.py)."""

from __future__ import annotations

import pytest

from generator.review import prices
from generator.review.cost import EMPTY, env_cost
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "prices"


# --- prices -------------------------------------------------------------------------------


def test_the_shipped_snapshot_prices_the_shipped_envs_region_and_says_its_date() -> None:
    book = prices.load()
    assert book.as_of and book.source
    us = book.region("us-east-1")
    assert us is not None and us.ec2_instance_hour["t3.micro"] > 0
    assert us.rds_instance_hour["db.t3.micro"] > 0 and us.fargate_vcpu_hour["ARM64"] > 0


def test_the_bulk_file_parser_takes_linux_on_demand_first_tier_prices_of_the_region() -> None:
    offers = prices.read_offer_files(FIXTURES)
    book = prices.refresh(prices.load(), "eu-central-1", offers)
    eu = book.region("eu-central-1")
    assert eu is not None
    # Linux, shared, on demand: not Windows (0.0212) nor the reserved term (0.0075).
    assert eu.ec2_instance_hour == {"t3.micro": 0.012}
    assert eu.ebs_gb_month == {"gp3": 0.0952}
    assert eu.nat_gateway_hour == 0.052  # hours, not the per-GB data charge
    assert eu.rds_instance_hour == {"db.t3.micro": 0.021}  # PostgreSQL Single-AZ only
    assert eu.rds_storage_gb_month == {"gp3": 0.133}
    assert book.as_of == "2025-10-15"  # the oldest file's publication date
    assert "bulk" in book.source and book.region("us-east-1") is not None


def test_parsing_files_of_another_region_is_refused() -> None:
    from generator.errors import UsageError

    with pytest.raises(UsageError, match="no prices for region 'ap-south-1'"):
        prices.refresh(prices.load(), "ap-south-1", prices.read_offer_files(FIXTURES))


def test_a_region_the_snapshot_lacks_is_said_not_guessed() -> None:
    cost = env_cost(prices.load(), "ap-south-1", {"network": (EMPTY, EMPTY)})
    assert "no prices for region ap-south-1" in cost.missing and not cost.stacks

