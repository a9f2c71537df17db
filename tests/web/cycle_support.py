"""The evaluation helpers of ``tests/engine/evaluation_support.py`` for the web tests
(walking a cycle to a stage, binding systems, a published year)."""

from __future__ import annotations

import sys
from pathlib import Path

_ENGINE_TESTS = str(Path(__file__).resolve().parent.parent / "engine")
if _ENGINE_TESTS not in sys.path:
    sys.path.append(_ENGINE_TESTS)

from evaluation_support import (OFFICE, bind_system, committee, published_year,  # noqa: E402
                                scoring_year, walk_to)

__all__ = ["OFFICE", "bind_system", "committee", "published_year", "scoring_year", "walk_to"]
