"""Template parameters of the daily audit anchor (outbox kind ``audit_anchor``, written
by :mod:`engine.anchor_daily`): no instance, no unit; the anchor's counts, Merkle root
and file, and a link to the audit page that lists the anchors."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from engine.clock import to_local


def anchor_params(payload: Mapping[str, Any], at: datetime, base_url: str) -> dict[str, Any]:
    """The parameters every template and the fan-out need, for an anchor row."""
    moment = payload.get("moment")
    local = to_local(datetime.fromisoformat(moment.rstrip("Z"))) if moment else to_local(at)
    return {
        "kind": "audit_anchor", "instance_id": None, "definition": "", "process": {},
        "unit": None, "unit_id": None, "state": "", "state_label": None, "from_state": None,
        "from_label": None, "trigger": None, "actor": None, "comment": None, "notify": [],
        "at": local.replace(tzinfo=None).isoformat(timespec="minutes"),
        "link": f"{base_url}/audit/anchors", "next_roles": ["auditor"],
        "day": payload.get("day"),
        "anchor": {"ok": bool(payload.get("ok")), "problem": payload.get("problem") or "",
                   "id": payload.get("anchor_id"), "instances": payload.get("instances"),
                   "entries": payload.get("entries"),
                   "merkle_root": payload.get("merkle_root") or "",
                   "key_id": payload.get("key_id") or "",
                   "document": payload.get("document") or ""},
    }
