"""The one output module: TTY tables vs pipes, JSON, NO_COLOR, one-line errors."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from thothctl.errors import UsageError
from thothctl.output import Output, relative_time


def make(tty: bool, fmt: str = "table"):
    out, err = io.StringIO(), io.StringIO()
    return Output(fmt, stdout=out, stderr=err, tty=tty, width=100), out, err


def test_table_on_a_tty_has_a_header_and_in_a_pipe_is_tab_separated():
    o, out, _ = make(tty=True)
    o.table(["NAME", "STATE"], [["gitlab-token", "enabled"], ["[bold]x[/bold]", None]])
    text = out.getvalue()
    assert "NAME" in text and "gitlab-token" in text
    assert "[bold]x[/bold]" in text, "user data is never interpreted as markup"

    o, out, _ = make(tty=False)
    o.table(["NAME", "STATE"], [["gitlab-token", "enabled"], ["b", None]])
    assert out.getvalue() == "gitlab-token\tenabled\nb\t-\n"


def test_json_has_stable_keys_and_utc_times():
    o, out, _ = make(tty=False, fmt="json")
    o.emit({"when": dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC), "n": 1}, lambda: None)
    assert json.loads(out.getvalue()) == {"when": "2026-11-28T02:00:00Z", "n": 1}


def test_errors_are_one_line_with_the_hint_after_a_dash_and_no_backticks():
    o, _, err = make(tty=False)
    o.error(UsageError("bad secret id 'x y'", hint="use letters, digits, - and _"))
    assert err.getvalue() == "error: bad secret id 'x y' — use letters, digits, - and _\n"
    o, _, err = make(tty=False)
    o.error("thoth-local has no jobs", hint="create them with `thothctl jobs apply`")
    assert (
        err.getvalue() == "error: thoth-local has no jobs — create them with thothctl jobs apply\n"
    )


def test_no_color_is_respected(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    o, _, err = make(tty=True)
    o.warn("careful")
    assert "\x1b[" not in err.getvalue()
    monkeypatch.delenv("NO_COLOR")
    o, _, err = make(tty=True)
    o.warn("careful")
    assert "\x1b[" in err.getvalue()


def test_quiet_hides_info_but_not_warnings_or_data():
    o = Output(quiet=True, stdout=io.StringIO(), stderr=io.StringIO(), tty=False)
    o.info("progress")
    o.success("done")
    o.warn("careful")
    o.line("data")
    assert o.stderr.getvalue() == "warning: careful\n"
    assert o.stdout.getvalue() == "data\n"


def test_confirm_refuses_without_a_tty_unless_yes():
    o, _, _ = make(tty=False)
    assert o.confirm("Delete it?", can_prompt=False, assume_yes=True)
    with pytest.raises(UsageError, match="confirmation needed") as info:
        o.confirm("Delete it?", can_prompt=False, assume_yes=False)
    assert "pass --yes" in info.value.hint


def test_relative_time():
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    assert relative_time(now - dt.timedelta(hours=3, minutes=5), now) == "3h ago"
    assert relative_time(now + dt.timedelta(minutes=90), now) == "in 1h"
    assert relative_time(None) == "-"
