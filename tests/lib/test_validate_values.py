"""The value checks behind the config and the commands: cron schedules, durations, time zones,
headers, members, secret values. Each accepts what Google documents and nothing that would pass
here and fail later (a traceback in `jobs next`, a refused API call, a job that never fires).

The cron grammar of Cloud Scheduler (cloud.google.com/scheduler/docs/configuring/
cron-job-schedules) is written down below as data and a plain reading of it; Hypothesis checks
``validate.check_cron`` agrees, and that every schedule it accepts has next fire times.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thothctl import schedule, validate
from thothctl.cost import runs_per_month

# field -> (lowest, highest, names from the lowest value on)
CRON = (
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    (0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def cron_values(field: str, low: int, high: int, names: tuple[str, ...]) -> set[int] | None:
    """The documented grammar: a comma list of '*', a value, or a range A-B, where '*' and a
    range may be followed by /STEP; None when the field breaks it."""

    def value(token: str) -> int | None:
        if token in names:
            return low + names.index(token)
        if token and len(token) <= 3 and all(c in "0123456789" for c in token):
            return int(token) if low <= int(token) <= high else None
        return None

    out: set[int] = set()
    for item in field.split(","):
        base, slash, step_text = item.partition("/")
        step = int(step_text) if step_text.isascii() and step_text.isdigit() else 0
        if slash and not 1 <= step <= high - low + 1:
            return None
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = value(a), value(b)
            if first is None or last is None or first > last:
                return None
        elif not slash and value(base) is not None:
            first = last = value(base)
        else:
            return None
        out.update(range(first, last + 1, step or 1))
    return out


def cron_ok(text: str) -> bool:
    if any(c not in " \t" and not 33 <= ord(c) <= 126 for c in text):
        return False
    fields = text.split()
    if len(fields) != 5:
        return False
    sets = [cron_values(f, *spec) for f, spec in zip(fields, CRON, strict=True)]
    if any(s is None for s in sets):
        return False
    if fields[4] == "*":  # no day of week to fall back on: the day must exist in some month
        return any(min(sets[2]) <= LONGEST_MONTH[m - 1] for m in sets[3])
    return True


TOKENS = ["*", "*/5", "*/0", "*/61", "0", "5", "07", "23", "24", "29", "30", "31", "32", "59",
          "60", "1-5", "5-1", "2", "4,6,9,11", "0-23/2", "JAN", "FEB", "JAN-MAR", "mon", "MON-FRI",
          "SUN", "7", "8", "L", "5L", "W", "1#2", "?", "H", "5/15", "@daily", "0-7/7", "", "٣",
          "1,", ",1"]  # fmt: skip


VALID = (
    ["*", "*/5", "0", "59", "0-30/15", "5,10,15", "00"],
    ["*", "*/2", "0", "23", "9-17", "0,12"],
    ["*", "1", "15", "28", "29", "30", "31", "1-7", "*/10", "1,31"],
    ["*", "2", "FEB", "4,6,9,11", "JAN-MAR", "*/3", "12", "2,4"],
    ["*", "0", "7", "MON-FRI", "SUN", "1-5", "6,7", "*/2"],
)


@st.composite
def crons(draw) -> str:
    """Mostly five fields of the right kind, sometimes a token from elsewhere, a field too many
    or too few, odd separators and endings."""
    fields = [
        draw(st.sampled_from(TOKENS if draw(st.integers(0, 7)) == 0 else valid)) for valid in VALID
    ]
    size = draw(st.sampled_from([5, 5, 5, 5, 4, 6]))
    fields = [*fields, "*"][:size]
    text = draw(st.sampled_from([" ", "  ", "\t"])).join(fields)
    return text + draw(st.sampled_from(["", "", "", "\n", " ", "\x00"]))


@settings(max_examples=300, deadline=None, database=None)
@given(crons())
def test_check_cron_accepts_exactly_cloud_schedulers_grammar_and_what_it_accepts_fires(text):
    try:
        normalized = validate.check_cron(text)
    except ValueError as exc:
        assert not cron_ok(text), f"{text!r} is documented cron, refused: {exc}"
        assert "\n" not in str(exc)  # one line, whatever the schedule holds
        return
    assert cron_ok(text), f"{text!r} is not documented cron, but it was accepted"
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert len(schedule.next_runs(normalized, "Europe/Berlin", 2, after=start)) == 2


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0 2 31 2 *", "never fires"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("0 2 L * *", "day of month"),
        ("0 2 * * 1#2", "day of week"),
        ("0 2 ? * *", "day of month"),
        ("0 2 * * 5L", "day of week"),
        ("0 2 15W * *", "day of month"),
        ("H 2 * * *", "minute"),
        ("0 0 0 2 * *", "5 fields"),
        ("@daily", "5 fields"),
        ("0 2 * * *\n", "5 fields"),
        ("0 2 * * mon", "capitals"),
        ("5/15 * * * *", "minute"),
        ("0 10-2 * * *", "backwards"),
        ("*/0 * * * *", "step"),
    ],
)
def test_croniter_extensions_and_schedules_that_never_fire_are_refused(text, why):
    with pytest.raises(ValueError, match=why):
        validate.check_cron(text)


def test_a_leap_day_schedule_and_either_day_field_are_accepted():
    assert validate.check_cron("0 0 29 2 *") == "0 0 29 2 *"
    assert runs_per_month("0 0 29 2 *", "Europe/Berlin") == 0  # `cost` counts, no traceback
    assert runs_per_month("0 0 15 */2 *", "UTC") == 1
    assert validate.check_cron("0 0 31 2 MON") == "0 0 31 2 MON"  # day of week fires it
    assert validate.check_cron("0\t9  * * MON-FRI") == "0 9 * * MON-FRI"


# --- durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        -math.inf,
        -1,
        "nan",
        "inf",
        "1e30",
        "-5s",
        "5",
        "٣s",
        "5s\n",
        True,
        None,
        "",
        "5x",
        "1.5.2s",
    ],
)
def test_a_duration_that_is_not_a_finite_count_of_seconds_is_refused(value):
    if value == "5":
        assert validate.parse_duration(value) == 5.0  # a bare number of seconds is fine
        return
    with pytest.raises(ValueError, match="duration"):
        validate.parse_duration(value)


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**30), 10**30)))
def test_a_duration_in_the_configs_range_always_converts_to_a_protobuf_duration(number):
    from google.protobuf import duration_pb2

    try:
        seconds = validate.check_duration_range(number, 0, validate.MAX_DURATION)
    except ValueError:
        assert not (0 <= number <= validate.MAX_DURATION), number
        return
    duration_pb2.Duration().FromTimedelta(dt.timedelta(seconds=seconds))


def test_the_longest_duration_reads_back_in_days():
    assert validate.format_duration(validate.MAX_DURATION) == "3652500d"
    assert validate.format_duration(3600) == "1h" and validate.format_duration(86400) == "24h"


# --- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "posix/Europe/Berlin",
        "right/UTC",
        "localtime",
        "posixrules",
        "Factory",
        "europe/berlin",
        "Europe/Berlin\n",
        "+02:00",
        "../etc/passwd",
        "",
    ],
)
def test_files_of_the_tz_database_that_are_not_zones_are_refused(name):
    with pytest.raises(ValueError, match="time zone"):
        validate.check_time_zone(name)


@pytest.mark.parametrize("name", ["UTC", "utc", "Etc/UTC", "Europe/Berlin", "America/New_York"])
def test_iana_names_are_accepted(name):
    assert validate.check_time_zone(name) == name


# --- headers, members, text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"X-A": "a\r\nInjected: yes"}, "control"),
        ({"X-A": "a\nb"}, "control"),
        ({"X-A": "a\x00"}, "control"),
        ({"X-A": "café"}, "visible ASCII"),
        ({"X A": "b"}, "header name"),
        ({"": "b"}, "header name"),
        ({"X-A\n": "b"}, "header name"),
        ({"Host": "evil.example.com"}, "Cloud Scheduler"),
        ({"user-agent": "me"}, "Cloud Scheduler"),
        ({"X-Google-Thing": "1"}, "Cloud Scheduler"),
        ({"X-CloudScheduler-JobName": "x"}, "Cloud Scheduler"),
        ({"X-A": "1", "x-a": "2"}, "twice"),
        ({"X-A": "x" * 82000}, "80 KB"),
    ],
)
def test_headers_that_could_not_be_sent_as_written_are_refused(headers, why):
    with pytest.raises(ValueError, match=why):
        validate.check_headers(headers)


def test_ordinary_headers_pass():
    headers = {"Content-Type": "application/json", "X-Trace": "a b\tc; d=e"}
    assert validate.check_headers(headers) == headers


@pytest.mark.parametrize(
    "member",
    [
        "domain:gmail.com",
        "domain:GMAIL.com",
        "domain:googlemail.com",
        "allUsers",
        "allAuthenticatedUsers",
    ],
)
def test_members_that_make_a_secret_public_need_allow_public(member):
    with pytest.raises(ValueError, match="public"):
        validate.check_member(member)
    assert validate.check_member(member, allow_public=True) == member


def test_a_workspace_domain_and_a_gmail_user_need_no_allow_public():
    assert validate.check_member("domain:example.com") == "domain:example.com"
    assert validate.check_member("user:alice@gmail.com") == "user:alice@gmail.com"


@pytest.mark.parametrize(
    ("data", "fmt", "why"),
    [
        (b"", "text", "empty"),
        (b"a" * 65537, "text", "65537 bytes"),
        (b"tok\x00en", "text", "NUL byte"),
        (b"\xff", "text", "UTF-8"),
        (b'{"a": 1', "json", "JSON"),
        (b"[" * 5000, "json", "nested too deeply"),
    ],
)
def test_a_secret_value_that_could_not_be_stored_or_used_is_refused(data, fmt, why):
    with pytest.raises(ValueError, match=why) as info:
        validate.check_secret_bytes(data, fmt)
    assert info.value.__context__ is None  # the decoding error, which holds the bytes, is gone


def test_version_numbers_are_ascii_and_normalized():
    assert validate.check_version("03") == "3" and validate.check_version_number("12") == "12"
    for bad in ("²", "٣", "0", "-1", "1\n", "1" * 19):
        with pytest.raises(ValueError):
            validate.check_version(bad)
