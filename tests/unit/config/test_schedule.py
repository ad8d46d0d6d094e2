"""EventBridge Scheduler's schedule grammar (generator/config/schedule.py): the forms
AWS's documents show are accepted, the ones they rule out are refused with the fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from generator.config.schedule import schedule_problem, timezone_problem

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("expression", [
    "cron(0 3 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0/15 * * * ? *)",
    "cron(0 5 L * ? *)", "cron(0 8 ? * 6L *)", "cron(0 9 ? * 3#2 *)", "cron(0 9 15W * ? *)",
    "cron(0 0 1 JAN,JUL ? 2030-2035)", "cron(30 2 ? * SUN,SAT *)", "cron(0 10 LW * ? *)",
    "rate(1 minute)", "rate(15 minutes)", "rate(1 hour)", "rate(2 hours)", "rate(1 day)",
    "rate(7 days)", "at(2030-06-01T12:01:00)",
])
def test_documented_forms_are_accepted(expression: str) -> None:
    assert schedule_problem(expression, "UTC", NOW) is None


@pytest.mark.parametrize(("expression", "says"), [
    ("cron(0 3 * *)", "takes 6 fields"),
    ("cron(0 3 * * ? * *)", "this one has 7"),
    ("cron(60 3 * * ? *)", "minutes '60'"),
    ("cron(0 3 32 * ? *)", "day-of-month '32'"),
    ("cron(0 3 ? 13 MON *)", "month '13'"),
    ("cron(0 3 ? * 8 *)", "day-of-week '8'"),
    ("cron(0 3 ? * 3#6 *)", "day#n"),
    ("cron(0 3 ? * 3#1,6#3 *)", "one expression only"),
    ("cron(0 3 * * ? 1969)", "year '1969'"),
    ("cron(? 3 * * ? *)", "'?' is for day-of-month or day-of-week only"),
    ("cron(0 3 ? * ? *)", "write '?' in exactly one"),
    ("cron(0/0 3 * * ? *)", "increment"),
    ("rate(0 days)", "at least 1"),
    ("rate(5 hour)", "write rate(5 hours)"),
    ("rate(1 days)", "write rate(1 day)"),
    ("rate(3 seconds)", "not a rate unit"),
    ("rate(hourly)", "whole number and a unit"),
    ("at(2030-06-01 12:00:00)", "yyyy-mm-ddThh:mm:ss"),
    ("at(2030-02-30T00:00:00)", "yyyy-mm-ddThh:mm:ss"),
    ("at(2030-06-01T11:59:59)", "in the past in UTC"),
    ("every day", "not a schedule expression"),
])
def test_refused_forms_say_why(expression: str, says: str) -> None:
    problem = schedule_problem(expression, "UTC", NOW)
    assert problem is not None and says in problem, problem


def test_at_is_read_in_the_jobs_time_zone() -> None:
    # 12:00 UTC is 14:00 in Berlin (summer): 13:00 there is past, 15:00 is not.
    assert "in the past in Europe/Berlin" in str(
        schedule_problem("at(2030-06-01T13:00:00)", "Europe/Berlin", NOW))
    assert schedule_problem("at(2030-06-01T15:00:00)", "Europe/Berlin", NOW) is None


@pytest.mark.parametrize(("name", "ok"), [("UTC", True), ("America/New_York", True),
                                          ("Europe/Berlin", True), ("Mars/Olympus", False),
                                          ("CEST", False), ("../etc/passwd", False)])
def test_time_zones_come_from_the_iana_database(name: str, ok: bool) -> None:
    assert (timezone_problem(name) is None) is ok
