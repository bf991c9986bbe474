"""Tables at 80 columns: the least important columns go first, prose wraps at spaces, a cell is
cut with an ellipsis only as a last resort, identifiers and commands are never broken, and a note
(a fix command) is printed whole on its own line."""

from __future__ import annotations

import io
import re

from thothctl.output import CUT, WRAP, Column, Output
from thothctl.tables import layout

EMAIL = "serviceAccount:thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
ROWS = [
    ["hourly-incremental-sync", "thoth-hourly-incremental-sync", "ENABLED",
     "every hour on the hour (0 * * * *)", "in 25m", "never", "http://127.0.0.1:44997/sync", "-"],
    ["daily-sync", "thoth-daily-sync", "PAUSED", "every day at 02:00 UTC (0 2 * * *)",
     "in 11h", "5m ago 200 OK after 0.3s", "http://127.0.0.1:44997/sync", "schedule"],
]  # fmt: skip
COLUMNS = [
    Column("NAME"),
    Column("JOB ID", drop=2),
    Column("STATE"),
    Column("SCHEDULE", fit=WRAP),
    Column("NEXT RUN", drop=3),
    Column("LAST ATTEMPT", fit=WRAP),
    Column("TARGET", drop=1, fit=CUT),
    Column("DRIFT", fit=WRAP),
]


def render(width: int, columns=COLUMNS, rows=ROWS, **kw) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    Output(stdout=out, stderr=err, tty=True, width=width).table(columns, rows, **kw)
    return re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()  # styles off


def test_at_200_columns_everything_is_shown_on_one_line_a_row():
    lines = render(200)
    assert len(lines) == 3 and all(h in lines[0] for h in ("JOB ID", "TARGET", "NEXT RUN"))


def test_at_80_columns_the_least_important_columns_go_and_nothing_is_broken():
    lines = render(80)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    header = lines[0]
    assert "TARGET" not in header and "JOB ID" not in header  # dropped first
    assert all(h in header for h in ("NAME", "STATE", "SCHEDULE", "LAST ATTEMPT", "DRIFT"))
    text = "\n".join(lines)
    assert "hourly-incremental-sync" in text  # an identifier whole, never folded
    for word in ("hourly-inc", "ental-sync"):
        assert not any(
            line.rstrip().endswith(word) for line in lines if "hourly-incremental" not in line
        )
    # prose wraps at spaces: every word of the schedule is still whole somewhere
    for word in ("every", "hour", "on", "the", "(0", "*)"):
        assert word in text


def test_a_cell_too_long_for_any_layout_is_cut_with_an_ellipsis_not_folded():
    columns = [Column("ACTION"), Column("RESOURCE", fit=WRAP), Column("MEMBER", fit=CUT)]
    rows = [["create", "secretAccessor on gitlab-token", EMAIL]]
    lines = render(60, columns, rows)
    assert all(len(line) <= 60 for line in lines)
    assert lines[1].endswith("…") and "serviceAccount:th" in lines[1]
    assert "secretAccessor" in "\n".join(lines) and "gitlab-token" in "\n".join(lines)


def test_a_note_is_printed_whole_on_its_own_line_even_when_longer_than_the_terminal():
    fix = "fix: thothctl secrets grant gitlab-url " + EMAIL
    lines = render(60, [Column(""), Column("CHECK"), Column("FINDING", fit=WRAP)],
                   [["✗ problem", "secret:gitlab-url.access", "the runtime account cannot read it"]],
                   notes=[fix])  # fmt: skip
    assert any(line.strip() == fix for line in lines)


def test_in_a_pipe_rows_are_tab_separated_and_a_note_is_the_last_field():
    out = io.StringIO()
    Output(stdout=out, stderr=io.StringIO(), tty=False).table(
        ["A", "B"], [["x", "y"], ["z", "w"]], notes=["fix: thothctl init", None]
    )
    assert out.getvalue() == "x\ty\tfix: thothctl init\nz\tw\t\n"


def test_the_layout_prefers_dropping_to_squeezing():
    widths = dict(layout(COLUMNS, ROWS, 80))
    assert 6 not in widths and 1 not in widths  # TARGET, then JOB ID
    assert widths[0] == len("hourly-incremental-sync")


def test_prose_squeezed_narrow_goes_on_its_own_line_under_the_row():
    columns = [Column(""), Column("CHECK"), Column("FINDING", fit=WRAP)]
    check = "secret:google-application-credentials.access"
    finding = f"{EMAIL} can access it"
    lines = render(80, columns, [["✓ ok", check, finding]])
    assert lines[0].split() == ["CHECK"]  # the prose column's header goes with it
    assert lines[1].split() == ["✓", "ok", check]
    assert EMAIL in lines[2] and lines[2].startswith(" " * len("✓ ok  "))  # whole, below
    wide = render(200, columns, [["✓ ok", check, finding]])
    assert len(wide) == 2 and wide[1].rstrip().endswith("can access it")
