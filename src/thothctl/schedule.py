"""Cron schedules, read locally: the grammar, the next fire times and a human reading of common
shapes.

No Google call: Cloud Scheduler's cron dialect is the classic five fields, evaluated in the job's
time zone. :func:`parse_cron` holds the documented grammar (cloud.google.com/scheduler/docs/
configuring/cron-job-schedules): each field a comma list of ``*``, a value, or a range ``A-B``,
``*`` and ranges optionally followed by ``/STEP``; numbers in ASCII, month names JAN-DEC and day
names SUN-SAT in capitals, 7 also Sunday. croniter's extensions (``L``, ``W``, ``#``, ``?``,
``H``, seconds, years, ``@daily``) are not Cloud Scheduler's and are refused, and so is a schedule
that can never fire (``0 2 31 2 *``). croniter only does the arithmetic.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (field, lowest, highest, names for lowest.., what the docs allow)
CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], str], ...] = (
    ("minute", 0, 59, (), "0-59"),
    ("hour", 0, 23, (), "0-23"),
    ("day of month", 1, 31, (), "1-31"),
    ("month", 1, 12, MONTH_NAMES, "1-12 or JAN-DEC in capitals"),
    ("day of week", 0, 7, DAY_NAMES, "0-6 or SUN-SAT in capitals, 7 is also Sunday"),
)
# The longest day of each month (February: 29, in leap years).
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_ITEM_RE = re.compile(r"(?P<base>\*|[0-9A-Z]{1,3}(?:-[0-9A-Z]{1,3})?)(?:/(?P<step>[0-9]{1,2}))?")


@dataclass(frozen=True)
class Cron:
    """A checked schedule: its text with single spaces, and each field's set of values."""

    text: str
    values: tuple[frozenset[int], ...]
    restricted: tuple[bool, ...]  # the field is not a plain "*"


def _show(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57]) + "…"


def _value(token: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if _digits(token):
        number = int(token)
        return number if low <= number <= high else None
    return names.index(token) + low if token in names else None


def _field_values(text: str, spec: tuple[str, int, int, tuple[str, ...], str]) -> frozenset[int]:
    name, low, high, names, allowed = spec
    wrong = ValueError(
        f"the {name} field {_show(text)} is not Cloud Scheduler's cron: a list of values "
        f"({allowed}), ranges A-B and * (both optionally /STEP)"
    )
    values: set[int] = set()
    for item in text.split(","):
        m = _ITEM_RE.fullmatch(item)
        if m is None:
            raise wrong
        base, step = m["base"], int(m["step"] or 1)
        if base == "*":
            first, last = low, high
        else:
            ends = [_value(t, low, high, names) for t in base.split("-")]
            if None in ends or (len(ends) == 1 and m["step"]):
                raise wrong
            first, last = ends[0], ends[-1]
            if first > last:
                raise ValueError(f"the {name} range {base!r} runs backwards: write it low-high")
        if not 1 <= step <= high - low + 1:
            raise ValueError(f"the {name} step /{step} is out of range: 1 to {high - low + 1}")
        values.update(range(first, last + 1, step))
    return frozenset(v % 7 if name == "day of week" else v for v in values)


def parse_cron(text: str) -> Cron:
    """Check ``text`` against Cloud Scheduler's documented cron grammar; ValueError names the
    field and what it allows."""
    fields = text.strip(" \t").split() if not re.search(r"[^ \t\x21-\x7e]", text) else []
    if len(fields) != 5:
        raise ValueError(
            f"{_show(text)} is not a valid cron schedule: 5 fields 'minute hour day-of-month month "
            "day-of-week' separated by spaces (e.g. '0 2 * * *' for every day at 02:00)"
        )
    why = None
    try:
        values = tuple(_field_values(f, spec) for f, spec in zip(fields, CRON_FIELDS, strict=True))
        cron = Cron(" ".join(fields), values, tuple(f != "*" for f in fields))
        _check_fires(cron)
    except ValueError as exc:
        why = str(exc)
    if why is not None:
        raise ValueError(f"{_show(text)} is not a valid cron schedule: {why}")
    return cron


def _check_fires(cron: Cron) -> None:
    """A restricted day of month with an unrestricted day of week must exist in some month of
    the schedule (day of week and day of month, both restricted, fire on either)."""
    days, months = cron.values[2], cron.values[3]
    if cron.restricted[4]:
        return
    if not any(min(days) <= MONTH_DAYS[m - 1] for m in months):
        raise ValueError(f"it never fires (no month of the schedule has a day {min(days)})")


def _tz(name: str) -> dt.tzinfo:
    import zoneinfo

    if not name or name.lower() in ("utc", "etc/utc"):
        return dt.UTC
    return zoneinfo.ZoneInfo(name)


def tz_label(name: str) -> str:
    return "UTC" if not name or name.lower() in ("utc", "etc/utc") else name


def next_runs(
    schedule: str, time_zone: str, count: int = 5, after: dt.datetime | None = None
) -> list[dt.datetime]:
    """The next ``count`` fire times (aware, in the job's time zone), computed locally."""
    from croniter import croniter

    start = (after or dt.datetime.now(dt.UTC)).astimezone(_tz(time_zone))
    it = croniter(schedule, start)
    return [it.get_next(dt.datetime) for _ in range(count)]


def _digits(text: str) -> bool:
    """ASCII digits only (str.isdigit also takes '²' and '٣', which int() refuses or reads)."""
    return text.isascii() and text.isdigit()


def _num(text: str, hi: int) -> int | None:
    return int(text) if _digits(text) and int(text) <= hi else None


def _every(field: str) -> int | None:
    """``*/N`` -> N."""
    return int(field[2:]) if field.startswith("*/") and _digits(field[2:]) else None


def _sub_daily(minute: str, hour: str, rest: tuple[str, str, str], tz: str) -> str | None:
    """Schedules that fire more than once a day (every minute, N minutes, hour, N hours)."""
    if rest != ("*", "*", "*"):
        return None
    m = _num(minute, 59)
    if (minute, hour) == ("*", "*"):
        return "every minute"
    if _every(minute) is not None and hour == "*":
        return f"every {_every(minute)} minutes"
    if m is not None and hour == "*":
        return "every hour on the hour" if m == 0 else f"every hour at :{m:02d}"
    if m is not None and _every(hour) is not None:
        return f"every {_every(hour)} hours at :{m:02d} {tz}"
    return None


def describe_schedule(schedule: str, time_zone: str) -> str:
    """A human reading of common cron shapes ("every day at 02:00 UTC"), else the cron itself."""
    tz = tz_label(time_zone)
    fields = schedule.split()
    if len(fields) != 5:
        return f"cron '{schedule}' ({tz})"
    minute, hour, dom, month, dow = fields
    often = _sub_daily(minute, hour, (dom, month, dow), tz)
    if often:
        return often
    m, h = _num(minute, 59), _num(hour, 23)
    if m is None or h is None or month != "*":
        return f"cron '{schedule}' ({tz})"
    at = f"at {h:02d}:{m:02d} {tz}"
    if dom == "*" and dow == "*":
        return f"every day {at}"
    if dom == "*" and dow in ("1-5", "MON-FRI", "mon-fri"):
        return f"every weekday {at}"
    if dom == "*" and _digits(dow) and int(dow) <= 7:
        return f"every {_DAYS[int(dow) % 7]} {at}"
    if dow == "*" and _digits(dom):
        return f"on day {int(dom)} of every month {at}"
    return f"cron '{schedule}' ({tz})"
