"""Every benchmark still runs: each script at a tiny size on SQLite, in its own process.

The figures at these sizes mean nothing; what is checked is that the script completes
against the current engine and definitions and ends with the one JSON line its issue
asks for, carrying the named fields. (The real runs and their figures are in
docs/performance.md.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "bench_cycle": (["--small", "4", "--large", "8"],
                    {"benchmark", "units", "seconds", "per_unit_ms", "ratio_1600_to_160"}),
    "bench_fire": (["--db", "sqlite", "--fires", "200", "--instances", "10", "--rounds", "1"],
                   {"benchmark"}),
    "bench_outbox": (["--inapp", "50", "--emails", "10"],
                     {"benchmark", "inapp_per_s", "email_per_s", "floor_email_per_s", "ratio"}),
    "bench_sweep": (["--db", "sqlite", "--pending", "50", "100", "--rounds", "1"],
                    {"benchmark"}),
    "bench_web": (["--small", "4", "--large", "8", "--repeat", "1"],
                  {"benchmark", "db", "pages", "ok"}),
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_runs_and_ends_with_its_json_line(script, tmp_path):
    args, fields = CASES[script]
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    last = done.stdout.strip().splitlines()[-1]
    result = json.loads(last)
    assert fields <= set(result), (fields - set(result), last)
