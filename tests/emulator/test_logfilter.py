"""The emulator's Logging query language: what matches, what is refused, and where."""

from __future__ import annotations

import pytest

from thothctl.emulator.logging.filter import FilterError, compile_filter, parse

FINISHED = "type.googleapis.com/google.cloud.scheduler.logging.AttemptFinished"

FAILED_ATTEMPT = {
    "logName": "projects/thoth-local/logs/cloudscheduler.googleapis.com%2Fexecutions",
    "resource": {
        "type": "cloud_scheduler_job",
        "labels": {
            "job_id": "thoth-daily-sync",
            "location": "us-central1",
            "project_id": "thoth-local",
        },
    },
    "severity": "ERROR",
    "timestamp": "2026-11-28T02:00:02.1Z",
    "insertId": "abc1",
    "jsonPayload": {
        "@type": FINISHED,
        "jobName": "projects/thoth-local/locations/us-central1/jobs/thoth-daily-sync",
        "status": "UNAVAILABLE",
        "url": "https://thoth.a.run.app/sync",
    },
    "httpRequest": {"status": 503, "latency": "2.1s"},
    "labels": {"compute.googleapis.com/resource_name": "vm-1"},
}
OK_ATTEMPT = {
    **FAILED_ATTEMPT,
    "severity": "INFO",
    "timestamp": "2026-11-28T03:00:00Z",
    "jsonPayload": {k: v for k, v in FAILED_ATTEMPT["jsonPayload"].items() if k != "status"},
    "httpRequest": {"status": 200},
}
STDOUT = {
    "logName": "projects/thoth-local/logs/run.googleapis.com%2Fstdout",
    "resource": {"type": "cloud_run_revision", "labels": {"service_name": "thoth-mcp-server"}},
    "timestamp": "2026-11-28T02:00:01Z",
    "textPayload": "Sync started by a Robot",
}


def matches(text: str, entry: dict) -> bool:
    return compile_filter(text)(entry)


def test_the_documented_scheduler_failure_filter_finds_failed_attempts_only():
    text = (
        'resource.type="cloud_scheduler_job" AND resource.labels.job_id="thoth-daily-sync" AND '
        f'jsonPayload."@type"="{FINISHED}" AND severity>=ERROR'
    )
    assert matches(text, FAILED_ATTEMPT)
    assert not matches(text, OK_ATTEMPT)
    assert not matches(text, STDOUT)


def test_success_is_recognized_by_the_absence_of_status():
    assert matches("NOT jsonPayload.status:*", OK_ATTEMPT)
    assert not matches("NOT jsonPayload.status:*", FAILED_ATTEMPT)
    assert matches("jsonPayload.status:*", FAILED_ATTEMPT)


def test_not_binds_tightest_then_or_then_and():
    # a OR NOT b AND NOT c OR d  ==  (a OR NOT b) AND (NOT c OR d)
    tree = parse('"a" OR NOT "b" AND NOT "c" OR "d"')
    assert type(tree).__name__ == "And"
    assert [type(i).__name__ for i in tree.items] == ["Or", "Or"]
    # Entry with only "b" and "d": (F or F) -> False, although "a OR (NOT b AND NOT c) OR d" would match
    entry = {"textPayload": "b d"}
    assert not matches('"a" OR NOT "b" AND NOT "c" OR "d"', entry)
    assert matches('("a" OR NOT "b") OR (NOT "c" OR "d")', entry)


def test_implicit_and_between_terms_and_on_separate_lines():
    assert matches('severity=ERROR\nresource.type="cloud_scheduler_job"', FAILED_ATTEMPT)
    assert not matches('severity=ERROR resource.type="cloud_run_revision"', FAILED_ATTEMPT)


def test_minus_and_not_negate():
    assert matches("-severity=INFO", FAILED_ATTEMPT)
    assert not matches("-severity=ERROR", FAILED_ATTEMPT)
    assert matches("NOT (severity=INFO OR severity=DEBUG)", FAILED_ATTEMPT)


def test_value_disjunction():
    assert matches(
        'resource.type = ("cloud_run_revision" OR "cloud_scheduler_job")', FAILED_ATTEMPT
    )
    assert not matches('resource.type = ("gae_app" OR "gce_instance")', FAILED_ATTEMPT)


def test_severity_compares_by_level_names_or_numbers_and_missing_is_default():
    assert matches("severity>=WARNING", FAILED_ATTEMPT)
    assert matches('severity>="error"', FAILED_ATTEMPT)
    assert matches("severity>=500", FAILED_ATTEMPT)
    assert not matches("severity>=CRITICAL", FAILED_ATTEMPT)
    assert matches("severity=DEFAULT", STDOUT)
    assert matches("severity<INFO", STDOUT)


def test_timestamps_compare_as_instants():
    assert matches('timestamp>="2026-11-28T02:00:00Z"', FAILED_ATTEMPT)
    assert matches(
        "timestamp>=2026-11-28T02:00:02Z AND timestamp<2026-11-28T02:00:03Z", FAILED_ATTEMPT
    )
    assert matches('timestamp<"2026-11-28T03:00:03+01:00"', FAILED_ATTEMPT)  # 02:00:03Z
    assert not matches('timestamp>="2026-11-28T02:01Z"', FAILED_ATTEMPT)


def test_numbers_compare_numerically():
    assert matches("httpRequest.status>=500", FAILED_ATTEMPT)
    assert not matches("httpRequest.status>=500", OK_ATTEMPT)
    assert matches("httpRequest.status=200", OK_ATTEMPT)
    assert matches("http_request.status<300", OK_ATTEMPT)  # snake_case alias


def test_string_comparisons_ignore_case_and_has_is_substring():
    assert matches("textPayload:robot", STDOUT)
    assert matches('textPayload="SYNC STARTED BY A ROBOT"', STDOUT)
    assert not matches("NOT textPayload:robot", STDOUT)
    assert matches('jsonPayload.url:"/sync"', FAILED_ATTEMPT)


def test_regular_expressions():
    assert matches('jsonPayload.jobName=~"jobs/thoth-.*-sync$"', FAILED_ATTEMPT)
    assert matches('jsonPayload.jobName!~"hourly"', FAILED_ATTEMPT)
    assert not matches('textPayload=~"^Robot"', STDOUT)


def test_log_names_encoded_and_log_id():
    assert matches('log_id("cloudscheduler.googleapis.com/executions")', FAILED_ATTEMPT)
    assert not matches('log_id("run.googleapis.com/stdout")', FAILED_ATTEMPT)
    assert matches(
        'logName="projects/thoth-local/logs/cloudscheduler.googleapis.com%2Fexecutions"',
        FAILED_ATTEMPT,
    )
    assert matches('log_name:"executions"', FAILED_ATTEMPT)


def test_quoted_path_segments():
    assert matches('labels."compute.googleapis.com/resource_name"="vm-1"', FAILED_ATTEMPT)
    assert matches('jsonPayload."@type":"AttemptFinished"', FAILED_ATTEMPT)


def test_bare_values_search_every_field():
    assert matches("robot", STDOUT)
    assert matches('"thoth-daily-sync"', FAILED_ATTEMPT)
    assert not matches("hourly", FAILED_ATTEMPT)


def test_missing_fields_never_equal_and_not_equal_is_the_negation():
    assert not matches('jsonPayload.nothing="x"', FAILED_ATTEMPT)
    assert matches('jsonPayload.nothing!="x"', FAILED_ATTEMPT)
    assert not matches("jsonPayload.nothing>1", FAILED_ATTEMPT)


def test_lowercase_keywords_are_values():
    # "and" is a bare value here (it appears nowhere), not a conjunction
    assert not matches("severity=ERROR and", FAILED_ATTEMPT)


def test_an_empty_filter_matches_everything():
    assert matches("", STDOUT)
    assert matches("   ", FAILED_ATTEMPT)


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("(severity=ERROR", 1, "')' is missing"),
        ("severity=ERROR)", 15, "unexpected ')'"),
        ("severity=", 10, "expected a value"),
        ('textPayload="robot', 13, "unterminated string"),
        ("severity>=LOUD", 11, "invalid severity"),
        ('timestamp>="yesterday"', 12, "invalid timestamp"),
        ("severity=ERROR AND", 19, "after AND"),
        ("OR severity=ERROR", 1, "on its left"),
        ('textPayload=~"("', 14, "regular expression"),
        ("sample(insertId, 0.1)", 1, "unsupported function"),
        ("()", 2, "empty parentheses"),
    ],
)
def test_malformed_filters_are_refused_with_the_column(text, column, words):
    with pytest.raises(FilterError) as info:
        parse(text)
    assert info.value.column == column
    assert words in str(info.value)
    assert f"column {column}" in str(info.value)
