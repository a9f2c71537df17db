"""A sweeper process for the concurrency tests (not a test module).

    python sweep_worker.py DB_URL NOW_ISO [--batch N] [--kill-after N]

Prints ``ready``, waits for a line on stdin (so several workers start together),
sweeps as of NOW and prints the claimed timer ids and outcomes as one JSON line. With
``--kill-after N`` it SIGKILLs itself when it is about to mark its N-th timer done —
mid-batch, inside the open transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import engine.timers as timers  # noqa: E402
from engine import Database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("now")
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--kill-after", type=int, default=None)
    args = parser.parse_args()
    if args.kill_after is not None:
        real, seen = timers._finish, [0]

        def finish(*a, **k):
            seen[0] += 1
            if seen[0] >= args.kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*a, **k)

        timers._finish = finish
    db = Database(args.url)
    print("ready", flush=True)
    sys.stdin.readline()
    report = timers.sweep(db, datetime.fromisoformat(args.now), batch=args.batch)
    print(json.dumps([[o.timer_id, o.outcome] for o in report.outcomes]), flush=True)
    db.dispose()


if __name__ == "__main__":
    main()
