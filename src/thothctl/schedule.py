"""Cron schedules, read locally: the next fire times and a human reading of common shapes.

No Google call: Cloud Scheduler's cron dialect is the classic five fields, evaluated in the job's
time zone (croniter does the arithmetic).
"""

from __future__ import annotations

import datetime as dt

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


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


def _num(text: str, hi: int) -> int | None:
    return int(text) if text.isdigit() and int(text) <= hi else None


def _every(field: str) -> int | None:
    """``*/N`` -> N."""
    return int(field[2:]) if field.startswith("*/") and field[2:].isdigit() else None


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
    if dom == "*" and dow.isdigit() and int(dow) <= 7:
        return f"every {_DAYS[int(dow) % 7]} {at}"
    if dow == "*" and dom.isdigit():
        return f"on day {int(dom)} of every month {at}"
    return f"cron '{schedule}' ({tz})"
