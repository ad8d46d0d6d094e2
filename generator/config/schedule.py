"""EventBridge Scheduler's schedule expressions and time zones, checked at params time
so that a job's schedule that Scheduler would refuse (or never run) stops before the
first AWS call.

The grammar, from AWS's documents:

- Scheduler API reference, CreateSchedule, ScheduleExpression: ``at(yyyy-mm-ddThh:mm:ss)``,
  ``rate(value unit)`` with "a value as a positive integer, and a unit with the following
  options: minute | minutes | hour | hours | day | days", and ``cron(fields)``, "six
  fields separated by white spaces: (minutes hours day_of_month month day_of_week year)".
- EventBridge user guide, "Rate expressions reference", Limitations: "If the value is
  equal to 1, then the unit must be singular. If the value is greater than 1, the unit
  must be plural."
- EventBridge user guide, "Cron expressions reference": the fields' values (minutes 0-59,
  hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT, year
  1970-2199) and wildcards (``, - * /`` everywhere, ``?`` ``L`` ``W`` in day-of-month,
  ``?`` ``L`` ``#`` in day-of-week); "You can't specify the Day-of-month and Day-of-week
  fields in the same cron expression. If you specify a value or a * in one of the fields,
  you must use a ? (question mark) in the other."
- Scheduler user guide, "Schedule types", one-time schedules: the date, time and time
  zone in which Scheduler evaluates the ``at`` expression; a time already past never runs.
  Time zones are the IANA database's names (ScheduleExpressionTimezone).
"""

from __future__ import annotations

import functools
import re
from datetime import datetime

import msgspec

_RATE = re.compile(r"(\d+) ([a-z]+)")
_UNITS = ("minute", "hour", "day")


class CronField(msgspec.Struct, frozen=True):
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # JAN..DEC or SUN..SAT, numbered from ``low``
    special: str = ""  # the wildcards this field adds to , - * /


MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FIELDS = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField("day-of-month", 1, 31, special="?LW"),
    CronField("month", 1, 12, MONTHS),
    CronField("day-of-week", 1, 7, DAYS, special="?L#"),
    CronField("year", 1970, 2199),
)
EXAMPLES = "cron(0 3 * * ? *), rate(1 hour), rate(15 minutes) or at(2030-01-31T03:00:00)"


def _value(text: str, field: CronField) -> int | None:
    """One value of ``field`` (a number or a name), or None when it is not one."""
    upper = text.upper()
    if upper in field.names:
        return field.low + field.names.index(upper)
    if text.isdigit() and field.low <= int(text) <= field.high:
        return int(text)
    return None


def _item_problem(item: str, field: CronField) -> str | None:
    """One comma-separated item of a cron field: ``*``, ``v``, ``a-b``, with an optional
    ``/step``, or the field's own forms (``L``, ``nW``, ``LW``; ``nL``, ``n#k``)."""
    span = f"{field.low}-{field.high}" + (f" or {field.names[0]}-{field.names[-1]}"
                                          if field.names else "")
    if "L" in field.special and item in ("L", "LW" if "W" in field.special else "L"):
        return None
    if "W" in field.special and item.endswith("W") and _value(item[:-1], field) is not None:
        return None
    if "#" in field.special and "#" in item:
        day, _, nth = item.partition("#")
        if _value(day, field) is None or nth not in ("1", "2", "3", "4", "5"):
            return f"'{item}' is not day#n (a day {span}, n 1-5)"
        return None
    if "L" in field.special and field.names == DAYS and item.endswith("L") and \
            _value(item[:-1], field) is not None:
        return None
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        return f"'{item}': the increment after '/' is a whole number of at least 1"
    if base == "*":
        return None
    low, dash, high = base.partition("-")
    for part in (low, high) if dash else (low,):
        if _value(part, field) is None:
            return f"'{part}' is not a value of the field ({span})"
    return None


def cron_problem(body: str) -> str | None:
    fields = body.split()
    if len(fields) != len(FIELDS):
        return (f"cron() takes 6 fields (minutes hours day-of-month month day-of-week year), "
                f"this one has {len(fields)}; write e.g. cron(0 3 * * ? *)")
    for text, field in zip(fields, FIELDS, strict=True):
        if text == "?":
            if "?" not in field.special:
                return f"'?' is for day-of-month or day-of-week only, not {field.name}"
            continue
        if "#" in text and "," in text:
            return f"{field.name} '{text}': with '#' the field takes one expression only"
        for item in text.split(","):
            problem = _item_problem(item, field)
            if problem:
                return f"{field.name} {problem}"
    dom, dow = fields[2], fields[4]
    if (dom == "?") == (dow == "?"):
        return ("day-of-month and day-of-week cannot both be given (or both be '?'): "
                "write '?' in exactly one of them, e.g. cron(0 3 * * ? *) or cron(0 3 ? * MON *)")
    return None


def rate_problem(body: str) -> str | None:
    m = _RATE.fullmatch(body.strip())
    if not m:
        return "rate() takes a whole number and a unit, e.g. rate(1 hour) or rate(15 minutes)"
    value, unit = int(m.group(1)), m.group(2)
    if value < 1:
        return "rate() needs a value of at least 1"
    singular = unit.removesuffix("s") if unit.endswith("s") else unit
    if singular not in _UNITS:
        return f"'{unit}' is not a rate unit: minute(s), hour(s) or day(s)"
    want = singular if value == 1 else singular + "s"
    if unit != want:
        return f"write rate({value} {want}): the unit is singular for 1 and plural above"
    return None


def at_problem(body: str, timezone: str, now: datetime | None) -> str | None:
    try:
        when = datetime.strptime(body.strip(), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return "at() takes a date and time as yyyy-mm-ddThh:mm:ss, e.g. at(2030-01-31T03:00:00)"
    if now is not None and timezone_problem(timezone) is None:
        import zoneinfo  # here, not at the top: a render without a job's time zone skips it

        local_now = now.astimezone(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)
        if when <= local_now:
            return (f"at({body.strip()}) is in the past in {timezone} (now "
                    f"{local_now:%Y-%m-%dT%H:%M:%S}): a one-time schedule would never run; "
                    "give a later time, or remove the job")
    return None


def schedule_problem(expression: str, timezone: str = "UTC",
                     now: datetime | None = None) -> str | None:
    """Why Scheduler would refuse ``expression`` (or never run it), or None. ``now`` (aware)
    makes a one-time ``at()`` in the past an error; None leaves the time unchecked."""
    m = re.fullmatch(r"(cron|rate|at)\((.*)\)", expression, re.S)
    if not m:
        return f"'{expression}' is not a schedule expression; write e.g. {EXAMPLES}"
    kind, body = m.groups()
    if kind == "cron":
        return cron_problem(body)
    if kind == "rate":
        return rate_problem(body)
    return at_problem(body, timezone, now)


@functools.cache
def _zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def timezone_problem(name: str) -> str | None:
    """None when ``name`` is in the IANA time zone database (as Python's zoneinfo has it)."""
    zones = _zones()
    if name in zones or name == "UTC":
        return None
    if not zones:  # no tz database on this machine: nothing to check against
        return None
    close = sorted(z for z in zones if z.lower() == name.lower())
    hint = f"did you mean '{close[0]}'?" if close else "e.g. 'UTC', 'Europe/Berlin' or 'America/New_York'"
    return f"'{name}' is not a time zone of the IANA database; {hint}"
