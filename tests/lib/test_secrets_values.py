"""thothctl.secrets.values: where a value comes from and what it must be before any call.

No emulator: these are pure functions over bytes, streams and a spec."""

from __future__ import annotations

import dataclasses
import io

import pytest

from thothctl.errors import UsageError
from thothctl.secrets import values

TOKEN = "glpat-values-test-1234"


def spec(name: str = "gitlab-token", **kw):
    """The spec of an unconfigured secret (env var derived from the name), adjusted."""
    return dataclasses.replace(values.default_spec(name), **{"description": "GitLab token", **kw})


def piped(data: bytes) -> io.TextIOWrapper:
    """What sys.stdin looks like when something is piped in: a text stream over a buffer."""
    return io.TextIOWrapper(io.BytesIO(data))


def test_echo_into_stdin_loses_exactly_one_trailing_newline():
    value = values.value_from_stdin(spec(), piped(TOKEN.encode() + b"\n"))
    assert value.data == TOKEN.encode() and value.stripped_newline
    assert values.value_from_stdin(spec(), b"two\n\n").data == b"two\n"
    assert values.value_from_stdin(spec(), b"windows\r\n").data == b"windows"
    kept = values.value_from_stdin(spec(), b"printf-style")
    assert kept.data == b"printf-style" and not kept.stripped_newline


def test_a_file_is_taken_as_it_is(tmp_path):
    path = tmp_path / "token.txt"
    path.write_bytes(b"from-file\n")
    value = values.read_value(spec(), str(path), stdin=piped(b""), environ={})
    assert value.data == b"from-file\n" and value.source == str(path)


def test_the_prompt_offers_the_default_and_an_empty_answer_takes_it():
    asked = []

    def prompt(label: str) -> str:
        asked.append(label)
        return ""

    url = spec("gitlab-url", default="https://gitlab.com", description="GitLab URL")
    value = values.read_value(url, None, stdin=piped(b""), environ={}, prompt=prompt)
    assert asked == ["GitLab URL (gitlab-url) [Enter: https://gitlab.com]"]
    assert value.data == b"https://gitlab.com"


def test_with_prompting_off_the_configured_env_var_is_the_source():
    value = values.read_value(spec(), None, stdin=piped(b""), environ={"GITLAB_TOKEN": TOKEN})
    assert value.data == TOKEN.encode() and value.source == "$GITLAB_TOKEN"
    with pytest.raises(UsageError, match=r"\$GITLAB_TOKEN is not set") as err:
        values.read_value(spec(), None, stdin=piped(b""), environ={})
    assert "--from-file" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"", "text", "empty"),
        (b"x" * (values.MAX_PAYLOAD + 1), "text", "65537 bytes"),
        (b"\xff\xfe", "text", "not valid UTF-8"),
        (b"{not json", "json", "not valid JSON"),
    ],
)
def test_bad_values_are_refused_before_any_call(data, fmt, message):
    with pytest.raises(UsageError, match=message):
        values.check_value(spec(format=fmt), data, "stdin")


def test_a_json_error_names_the_position_never_the_value():
    with pytest.raises(UsageError) as err:
        values.check_value(spec(format="json"), b'{"key": secretpart}', "stdin")
    assert "secretpart" not in err.value.message and "line 1" in err.value.message


def test_a_value_on_the_command_line_is_refused_without_echoing_it():
    with pytest.raises(UsageError) as err:
        values.check_source("hunter2", None)
    assert "hunter2" not in err.value.message and "hunter2" not in (err.value.hint or "")
    assert values.check_source("-", None) == "-"
    assert values.check_source(None, "token.txt") == "token.txt"
    with pytest.raises(UsageError, match="not both"):
        values.check_source("-", "token.txt")


def test_a_value_never_shows_its_bytes():
    value = values.SecretValue(TOKEN.encode(), "stdin")
    assert TOKEN not in repr(value) and "redacted" in repr(value)


def test_json_output_of_a_value_falls_back_to_base64_for_binary():
    assert values.payload_json(b"text") == {"value": "text"}
    assert values.payload_json(b"\xff\x00") == {"value_base64": "/wA="}
