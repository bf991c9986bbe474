"""`--help`, `--version` and completion must not import grpc or the Google client libraries."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("grpc", "google.api_core", "google.cloud", "google.auth", "google.protobuf")

PROBE = """
import sys, io, contextlib
sys.argv = ["thothctl"] + {args!r}
from thothctl.__main__ import main
buf = io.StringIO()
try:
    with contextlib.redirect_stdout(buf):
        main()
except SystemExit:
    pass
print(buf.getvalue())
heavy = sorted(m for m in sys.modules if m.split(".")[0] == "grpc" or m.startswith({heavy!r}))
print("HEAVY:" + ",".join(heavy))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["secrets", "--help"],
        ["jobs", "--help"],
        ["apis", "status", "--help"],
        ["config", "--help"],
        ["emulator", "serve", "--help"],
    ],
)
def test_help_and_version_import_no_google_modules(args):
    code = PROBE.format(args=args, heavy=HEAVY)
    env = {**os.environ, "NO_GCE_CHECK": "true"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    line = [x for x in out.stdout.splitlines() if x.startswith("HEAVY:")][-1]
    assert line == "HEAVY:", f"{args} imported {line[6:]}"


def test_completion_request_imports_no_google_modules():
    code = PROBE.format(args=[], heavy=HEAVY)
    env = {
        **os.environ,
        "_THOTHCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": "thothctl sec",
        "COMP_CWORD": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert "secrets" in out.stdout
    line = [x for x in out.stdout.splitlines() if x.startswith("HEAVY:")][-1]
    assert line == "HEAVY:", line
