"""Load: `secrets list` / `jobs list` with 1,000 secrets and 100 jobs read one page each (the
largest the API allows) and make no per-item call for unconfigured items (benchmarks/load.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


def test_lists_read_whole_pages_without_per_item_calls(tmp_path):
    out = subprocess.run(
        [sys.executable, str(BENCH)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "secrets list -o json: exit 0" in out.stdout
    secrets_line = next(ln for ln in out.stdout.splitlines() if "secrets list" in ln)
    assert "ListSecrets x1" in secrets_line and "GetSecret" not in secrets_line
    jobs_line = next(ln for ln in out.stdout.splitlines() if "jobs list" in ln)
    assert "ListJobs x1" in jobs_line and "GetJob" not in jobs_line
