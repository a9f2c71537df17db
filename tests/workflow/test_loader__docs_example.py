"""docs/definitions.md shows the bundled example exactly, and its other YAML snippets are valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflow import bundled_definitions_dir, load_bundled, mermaid
from workflow.source import parse_source

DOCS = Path(__file__).resolve().parents[2] / "docs" / "definitions.md"

pytestmark = pytest.mark.skipif(not DOCS.exists(), reason="docs/ not present (installed package)")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def test_docs_show_the_bundled_performance_plan_verbatim() -> None:
    plan = (bundled_definitions_dir() / "performance_plan.yaml").read_text(encoding="utf-8")

    assert _blocks("yaml")[0] == plan


def test_docs_show_the_current_diagram() -> None:
    assert _blocks("mermaid") == [mermaid(load_bundled()["performance_plan"])]


def test_every_yaml_snippet_in_the_docs_parses() -> None:
    for block in _blocks("yaml"):
        doc, problems = parse_source(block, "docs")
        assert problems == [] and doc is not None, block
