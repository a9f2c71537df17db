"""JSON forms of engine objects; times as ISO 8601 with the local offset (+08:00)."""

from __future__ import annotations

from datetime import date, datetime

from engine.clock import to_local


def iso(moment: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its offset in the local zone."""
    return None if moment is None else to_local(moment).isoformat()


def day(value: date | None) -> str | None:
    """A calendar date as ``YYYY-MM-DD``."""
    return None if value is None else value.isoformat()


def label(value) -> dict:
    """A ``workflow.spec.Label`` as ``{"zh", "en"}`` (an empty ``en`` reads as ``zh``)."""
    return {"zh": value.zh, "en": value.en or value.zh}


def history_entry(row: dict) -> dict:
    """One history entry."""
    return {"seq": row["seq"], "from_state": row["from_state"], "to_state": row["to_state"],
            "trigger": row["trigger"], "actor": row["actor"], "role": row["role"],
            "at": iso(row["at"]), "comment": row["comment"], "data_patch": row["data_patch"],
            "prev_hash": row["prev_hash"], "hash": row["hash"]}


def token(info, secret: str | None = None) -> dict:
    """A token's listing (and, once, its secret)."""
    out = {"id": info.id, "username": info.username, "name": info.name, "prefix": info.prefix,
           "created_by": info.created_by, "created_at": iso(info.created_at),
           "last_used_at": iso(info.last_used_at), "revoked_at": iso(info.revoked_at),
           "expires_at": iso(info.expires_at), "status": info.status()}
    if secret is not None:
        out["token"] = secret
    return out


def result(row: dict) -> dict:
    """One unit's stored result (scores as exact decimal strings)."""
    return {"unit": {"id": row["unit_id"], "code": row["code"], "name": row["name"]},
            "category": row["category"], "indicator": row["indicator"],
            "public": row["public"], "leadership": row["leadership"],
            "composite": row["composite"], "grade": row["grade"], "rank": row["rank"],
            "vetoed": bool(row["vetoed"]), "revision": row["revision"],
            "computed_at": iso(row["computed_at"]), "published_at": iso(row["published_at"])}


def attachment(att, download_url: str) -> dict:
    """One attachment's listing (``engine.attachments.Attachment``)."""
    return {"id": att.id, "instance_id": att.instance_id, "filename": att.filename,
            "content_type": att.content_type, "size": att.size, "sha256": att.sha256,
            "uploaded_by": att.uploaded_by, "at": iso(att.at), "history_seq": att.history_seq,
            "download_url": download_url}
