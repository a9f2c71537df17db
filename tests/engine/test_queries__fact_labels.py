"""Fact entries read as people read them on the timeline and the audit pages."""

from __future__ import annotations

import engine.facts as facts
from engine.instances import MIGRATION_KIND
from engine.queries import trigger_label
from workflow import load_bundled


def test_every_fact_kind_has_a_chinese_and_an_english_label():
    cycle = load_bundled()["evaluation_cycle"]
    kinds = [v for k, v in vars(facts).items() if k.isupper() and isinstance(v, str)]
    assert len(kinds) >= 10
    for kind in kinds + [MIGRATION_KIND]:
        label = trigger_label(cycle, kind, "scoring", "scoring")
        assert label.zh != kind and label.en != kind, kind
        assert not any(c.isascii() and c.isalpha() for c in label.zh), label.zh
