"""``/api/v1/audit/anchors``: the signed anchors written, and verification of the
database against one (auditor, office, admin). See :mod:`engine.anchor`."""

from __future__ import annotations

from engine.anchor import list_anchors, verify_anchor

from . import bp, schemas
from .auth import require
from .instances import _db
from .serialize import iso
from .spec import operation
from ..views.common import AUDIT_ROLES

_obj, _int, _str = schemas.obj, {"type": "integer", "minimum": 0}, {"type": "string"}
#: The request body of a verification: the anchor file's JSON, and optionally the public
#: key (PEM, or base64 of its 32 raw bytes) it must be signed with.
VERIFY_ANCHOR = _obj({"anchor": {"type": "object", "description": "the anchor file's JSON "
                                                                  "({\"body\", \"signature\"})"},
                      "public_key": {"type": "string", "minLength": 1, "maxLength": 4000,
                                     "description": "pin the signing key (PEM); default: "
                                                    "the configured key's, else the "
                                                    "embedded one (with a warning)"}},
                     ("anchor",))
schemas.COMPONENTS.update({
    "Anchor": _obj({"id": schemas.ID, "moment": schemas.TIME, "instances": _int,
                    "entries": _int, "merkle_root": _str, "key_id": _str,
                    "origin": {"enum": ["cli", "daily"]}, "download_url": _str}),
    "AnchorList": schemas.list_of("Anchor"),
    "AnchorReport": _obj({
        "ok": {"type": "boolean"}, "signature_ok": {"type": "boolean"},
        "key_source": {"enum": ["pinned", "configured", "embedded"]}, "key_id": _str,
        "anchored": _obj({"format_version": {"enum": [1, 2]}, "moment": _str,
                          "instances": _int, "entries": _int, "merkle_root": _str,
                          "units": _int, "cycles": _int},
                         ("format_version", "moment", "instances", "entries",
                          "merkle_root")),
        "current": {"type": "object", "description": "instances and entries now, and "
                                                     "(format 2) units and cycles (empty "
                                                     "when the signature failed)"},
        "warnings": {"type": "array", "items": _str},
        "problems": {"type": "array", "items": _obj({
            "instance_id": schemas.nullable(schemas.ID), "seq": _int, "reason": _str})}}),
})


@operation(bp, "GET", "/audit/anchors", summary="Signed anchors written", tag="audit",
           response="AnchorList", errors=(403,))
def audit_anchors():
    """The newest 100 anchors (moment, counts, Merkle root, signing key id, written by
    the CLI or the daily scheduler job), newest first; ``download_url`` gives the file."""
    require(*AUDIT_ROLES)
    return {"items": [{**{k: row[k] for k in ("id", "instances", "entries", "merkle_root",
                                              "key_id", "origin")},
                       "moment": iso(row["moment"]),
                       "download_url": f"/audit/anchors/{row['id']}.json"}
                      for row in list_anchors(_db())]}


@operation(bp, "POST", "/audit/anchors/verify", summary="Verify against an anchor",
           tag="audit", body=VERIFY_ANCHOR, response="AnchorReport", errors=(403,))
def audit_anchor_verify(body: dict):
    """Check the signature, then that every anchored chain head is still in its chain
    with the same hash at the same seq, every chain verifies, the counts did not go
    down and the Merkle root recomputes. ``ok`` false lists each problem with its
    instance and seq. A body that is not an anchor, or a bad key: 422 (``invalid_anchor``,
    ``anchor_key_invalid``)."""
    require(*AUDIT_ROLES)
    return verify_anchor(_db(), body["anchor"], body.get("public_key")).to_dict()
