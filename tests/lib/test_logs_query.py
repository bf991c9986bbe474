"""`thothctl logs` turns what the user typed into one Cloud Logging filter, checking every part
before a call is made. No emulator needed: building a query reads only the configuration."""

from __future__ import annotations

import datetime as dt

import pytest

from thothctl.config import load_config
from thothctl.errors import UsageError
from thothctl.logquery import build_query, check_filter, parse_time

NOW = dt.datetime(2026, 11, 28, 2, 30, tzinfo=dt.UTC)
SCHEDULER = 'log_id("cloudscheduler.googleapis.com/executions")'


@pytest.fixture
def config(tmp_path):
    """The built-in setup: jobs daily-sync and hourly-incremental-sync, service thoth-mcp-server."""
    return load_config(environ={}, emulator=True, cwd=tmp_path)


def test_an_operator_asks_for_one_jobs_attempts_in_the_last_ten_minutes(config):
    query = build_query(config, "jobs", job="daily-sync", since="10m", now=NOW)
    assert query.source == "jobs" and query.job == "daily-sync"
    assert query.since == NOW - dt.timedelta(minutes=10) and query.until is None
    assert query.filter == (
        f'({SCHEDULER} AND resource.type="cloud_scheduler_job" '
        'AND resource.labels.job_id="thoth-daily-sync") AND timestamp>="2026-11-28T02:20:00Z"'
    )


def test_by_default_everything_from_the_last_day_up_to_the_limit(config):
    query = build_query(config, now=NOW)
    assert query.source == "all" and query.limit == 100
    assert query.since == NOW - dt.timedelta(days=1)
    # all three sources, each its own group; both configured jobs
    assert 'resource.labels.job_id=("thoth-daily-sync" OR "thoth-hourly-incremental-sync")' in (
        query.filter
    )
    assert 'resource.labels.service_name="thoth-mcp-server"' in query.filter
    assert 'resource.labels.service="secretmanager.googleapis.com"' in query.filter
    assert query.filter.endswith('AND timestamp>="2026-11-27T02:30:00Z"')


def test_job_narrows_only_the_scheduler_part_of_all(config):
    query = build_query(config, job="thoth-daily-sync", now=NOW)  # the job id works too
    assert query.job == "daily-sync"
    assert '"thoth-hourly-incremental-sync"' not in query.filter
    assert "cloud_run_revision" in query.filter  # the service's entries around it stay in


def test_window_severity_and_an_extra_expression_are_anded(config):
    query = build_query(
        config,
        "service",
        since="2026-11-28T02:00Z",
        until="2026-11-28T03:25:00+01:00",
        severity="warn",
        extra_filter="httpRequest.status>=500",
        limit=5,
        now=NOW,
    )
    assert query.limit == 5
    assert query.filter.split(" AND ")[-4:] == [
        'timestamp>="2026-11-28T02:00:00Z"',
        'timestamp<="2026-11-28T02:25:00Z"',
        "severity>=WARNING",
        "(httpRequest.status>=500)",
    ]


def test_following_has_no_start_unless_given(config):
    assert build_query(config, follow=True, now=NOW).since is None
    assert "timestamp" not in build_query(config, follow=True, now=NOW).filter
    assert build_query(config, follow=True, since="5m", now=NOW).since == NOW - dt.timedelta(
        minutes=5
    )


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"since": "yesterday"}, "--since 'yesterday' is neither a duration nor a timestamp"),
        ({"until": "2026-13-45"}, "--until '2026-13-45'"),
        ({"severity": "LOUD"}, "--severity 'LOUD' is not a log severity"),
        ({"extra_filter": 'textPayload:"robot'}, "never closes the string '\"robot'"),
        ({"extra_filter": "(severity=ERROR"}, "never closes the '(' in '(severity=ERROR'"),
        ({"extra_filter": "severity="}, "ends with the operator in 'severity='"),
        ({"extra_filter": "a AND httpRequest.status>="}, "in 'httpRequest.status>='"),
        ({"extra_filter": "OR severity=ERROR"}, "starts with AND/OR"),
        ({"source": "service", "job": "daily-sync"}, "--job selects scheduler entries"),
        ({"since": "1h", "until": "2h"}, "is after --until"),
        ({"follow": True, "until": "1h"}, "--until cannot be combined with --follow"),
        ({"source": "everything"}, "unknown log source 'everything'"),
        ({"limit": 0}, "--limit 0 must be at least 1"),
    ],
)
def test_bad_input_is_a_usage_error(config, kwargs, words):
    with pytest.raises(UsageError) as caught:
        build_query(config, now=NOW, **kwargs)
    assert words in caught.value.message


def test_times_are_durations_ago_or_rfc3339():
    assert parse_time("1h30m", now=NOW) == NOW - dt.timedelta(minutes=90)
    assert parse_time("2d", now=NOW) == NOW - dt.timedelta(days=2)
    assert parse_time("2026-11-28T03:00:00+01:00") == dt.datetime(2026, 11, 28, 2, tzinfo=dt.UTC)
    assert parse_time("2026-11-28T02:00:00.5Z").microsecond == 500_000


def test_a_well_formed_filter_is_passed_through():
    text = 'jsonPayload.status="UNAVAILABLE" AND (severity>=ERROR OR textPayload:"a \\" b")'
    assert check_filter(text) == text
    assert check_filter("labels.x:*") == "labels.x:*"
