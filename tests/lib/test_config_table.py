"""One field table drives the configuration: a maintainer who adds or changes a key in
``thothctl.config.schema`` sees it loaded, checked, shown by `config show`, written by
`config init` and documented in the README, without touching anything else."""

from __future__ import annotations

import importlib.util
import textwrap
import tomllib
from pathlib import Path

import pytest

from thothctl.config import (
    DEFAULTS,
    REQUIRED,
    TABLES,
    TOP_FIELDS,
    describe,
    load_config,
    reference_rows,
    render_template,
    show_rows,
)
from thothctl.config.names import candidates
from thothctl.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
TABLE_KEYS = [(t.name, f) for t in TABLES for f in t.fields]


def gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", REPO / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thothctl.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_config_init_documents_every_key_of_the_table():
    text = render_template()
    for f in TOP_FIELDS:
        assert f"{f.key} = " in text and describe(f) in text, f.key
    for table, f in TABLE_KEYS:
        block = text.split(f"# [{table}.NAME]", 1)[1].split("\n\n", 1)[0]
        assert f"#   {f.key} " in block, f"{table}.{f.key} undocumented in the template"
    data = tomllib.loads(text)
    for table in TABLES:
        assert data[table.name] == DEFAULTS[table.name]


def test_config_show_lists_every_key_for_every_item_with_its_source(tmp_path):
    write(
        tmp_path,
        """
        [jobs.weekly-report]
        id = "thoth-weekly-report"
        schedule = "0 6 * * 1"
        [secrets.sentry-dsn]
        description = "Sentry DSN"
        """,
    )
    rows = {
        key: (value, source)
        for key, value, source in show_rows(load_config(environ={}, cwd=tmp_path))
    }
    for f in TOP_FIELDS:
        assert f.key in rows
    for table, f in TABLE_KEYS:
        for name in [*DEFAULTS[table], "weekly-report" if table == "jobs" else "sentry-dsn"]:
            assert f"{table}.{name}.{f.key}" in rows, f"{table}.{name}.{f.key} missing"
    # a key the file sets names the file; one it leaves out shows the table's default
    assert rows["jobs.weekly-report.schedule"] == ("0 6 * * 1", "thothctl.toml")
    assert rows["jobs.weekly-report.attempt_deadline"] == ("180s", "default")
    assert rows["secrets.sentry-dsn.env"] == ("SENTRY_DSN", "default")


def test_the_readme_reference_has_a_row_for_every_key_with_its_rule():
    table = gen_docs().readme_config()
    for row in reference_rows():
        assert f"| `{row.key}` |" in table
    for table_name, f in TABLE_KEYS:
        if f.range:
            line = next(x for x in table.splitlines() if f"[{table_name}.NAME] {f.key}`" in x)
            assert f.rule() in line  # e.g. "0 .. 5", taken from the range the loader enforces
    assert "| `[jobs.NAME] id` | string | required |" in table


@pytest.mark.parametrize(
    ("table", "field"),
    [(t, f) for t, f in TABLE_KEYS if f.range],
    ids=lambda x: getattr(x, "key", x),
)
def test_a_value_outside_the_tables_range_is_refused_naming_file_and_key(tmp_path, table, field):
    name = next(iter(DEFAULTS[table]))
    high = field.range[1] + 1
    value = f'"{field.bound(high)}"' if field.kind == "duration" else str(int(high))
    write(tmp_path, f"[{table}.{name}]\n{field.key} = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(environ={}, cwd=tmp_path)
    low_text, high_text = (field.bound(b) for b in field.range)
    assert (info.value.source, info.value.key) == ("thothctl.toml", f"{table}.{name}.{field.key}")
    assert f"{field.key} must be between {low_text} and {high_text}" in info.value.rule


def test_a_value_outside_the_tables_choices_is_refused(tmp_path):
    for table, f in TABLE_KEYS:
        if not f.choices:
            continue
        name = next(iter(DEFAULTS[table]))
        write(tmp_path, f'[{table}.{name}]\n{f.key} = "nope"\n')
        with pytest.raises(ConfigError) as info:
            load_config(environ={}, cwd=tmp_path)
        assert info.value.key == f"{table}.{name}.{f.key}"
        assert f"one of {', '.join(f.choices)}" in info.value.rule


def test_a_required_key_left_out_is_named(tmp_path):
    for table in TABLES:
        required = [f.key for f in table.fields if f.default is REQUIRED]
        builtin = next(iter(DEFAULTS[table.name].values()))
        for missing in required:
            given = "".join(f"{k} = {builtin[k]!r}\n" for k in required if k != missing)
            write(tmp_path, f"[{table.name}.brand-new]\n{given}")
            with pytest.raises(ConfigError) as info:
                load_config(environ={}, cwd=tmp_path)
            assert info.value.key == f"{table.name}.brand-new"
            assert info.value.rule == f"missing required key {missing!r}"


def test_two_jobs_sharing_an_id_are_refused(tmp_path):
    write(tmp_path, '[jobs.copy]\nid = "thoth-daily-sync"\nschedule = "0 1 * * *"\n')
    with pytest.raises(ConfigError) as info:
        load_config(environ={}, cwd=tmp_path)
    assert info.value.key == "jobs.copy.id"
    assert info.value.rule == "job id 'thoth-daily-sync' is also used by jobs.daily-sync"


def test_completion_mid_edit_offers_names_with_the_tables_defaults(tmp_path, monkeypatch):
    """A half-written config (it does not load) still completes: a new secret is described by its
    name (the table's default), a job without its id yet offers only its name, no guessed id."""
    write(tmp_path, '[secrets.sentry-dsn]\nformat = "yaml"\n[jobs.weekly-report]\nschedule = "x"\n')
    monkeypatch.chdir(tmp_path)
    assert ("sentry-dsn", "sentry-dsn") in candidates("secret", environ={})
    jobs = [value for value, _ in candidates("job", environ={})]
    assert "weekly-report" in jobs and "thoth-weekly-report" not in jobs
    assert "thoth-daily-sync" in jobs
