"""At a real terminal: bytes typed at the hidden prompt that are not UTF-8 (a terminal in
Latin-1, a paste of binary) end in one line and exit 2, with nothing changed and nothing of what
was typed echoed or put in an error."""

from __future__ import annotations

import os
import pty
import sys

import pytest
from terminal_io import read_until

P = "projects/thoth-local"


@pytest.mark.slow  # a real thothctl process on a pseudo-terminal: a few seconds
def test_invalid_utf8_typed_at_the_hidden_prompt_is_one_line_and_exit_2(
    enabled_apis, clients, tmp_path
):
    clients.secrets.create_secret(
        request={
            "parent": P,
            "secret_id": "gitlab-token",
            "secret": {"replication": {"automatic": {}}},
        }
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITLAB_"))},
        "THOTHCTL_EMULATOR_HOST": enabled_apis.address,
        "NO_GCE_CHECK": "true",
        "LC_ALL": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: thothctl on a pseudo-terminal
        os.chdir(tmp_path)
        argv = [sys.executable, "-m", "thothctl", "secrets", "set", "gitlab-token"]
        os.execve(sys.executable, argv, env)
    try:
        seen = read_until(fd, b"token")  # the hidden prompt (echo is off once it shows)
        assert b"token" in seen, seen
        enabled_apis.calls.reset()
        os.write(fd, b"caf\xe9-SECRET\xff\n")
        rest = read_until(fd, b"\x00never")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = rest.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 2, text
    assert "Traceback" not in text
    assert "not valid UTF-8" in text
    assert "SECRET" not in text  # the hidden answer is neither echoed nor quoted
    assert [c.method for c in enabled_apis.calls.snapshot() if c.mutating] == []
