"""What an administrator with direct database access could do behind the engine's back:
run SQL with the history triggers and foreign keys out of the way, and rewrite a chain
with every hash recomputed so that it verifies on its own."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from sqlalchemy import select, text

from engine.hashing import data_hash, entry_hash
from engine.models import HistoryEntry, Instance

_h, _i = HistoryEntry.__table__, Instance.__table__


def tamper(db, *statements: str) -> None:
    """Run ``statements`` with the history triggers and (SQLite) foreign keys off."""
    if db.dialect == "sqlite":
        raw = sqlite3.connect(db.engine.url.database)  # foreign keys are off by default
        try:
            raw.execute("DROP TRIGGER IF EXISTS history_no_update")
            raw.execute("DROP TRIGGER IF EXISTS history_no_delete")
            for statement in statements:
                raw.execute(statement)
            raw.commit()
        finally:
            raw.close()
        return
    with db.write() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers, no FKs
        for statement in statements:
            conn.execute(text(statement))


def _quote(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return "'" + str(value).replace("'", "''") + "'"


def rewrite_chain(db, instance_id: int, seq: int, **changes) -> None:
    """Change entry ``seq`` of ``instance_id`` (``comment=…``, ``data_patch=…``) and
    recompute its data hash, its hash and every later entry's ``prev_hash`` and hash,
    then move the instance row's ``last_hash`` (and its data, replayed) along — a
    consistent rewrite that plain ``audit verify`` cannot see."""
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(_h).where(_h.c.instance_id == instance_id).order_by(_h.c.seq))]
    statements, prev, data = [], None, {}
    for row in rows:
        if row["seq"] == seq:
            row.update(changes)
            row["data_hash"] = data_hash(row["data_patch"])
        if prev is not None and row["seq"] > seq:
            row["prev_hash"] = prev
        if row["seq"] >= seq:
            row["hash"] = entry_hash(row)
            sets = {**{k: row[k] for k in changes}, "data_hash": row["data_hash"],
                    "prev_hash": row["prev_hash"], "hash": row["hash"]}
            statements.append("UPDATE history SET " + ", ".join(
                f"{k} = {_quote(v)}" for k, v in sets.items())
                + f" WHERE instance_id = {instance_id} AND seq = {row['seq']}")
        if row["data_patch"] and "." not in row["trigger"]:
            data.update(row["data_patch"])
        prev = row["hash"]
    statements.append(f"UPDATE instances SET last_hash = {_quote(prev)}, data = {_quote(data)} "
                      f"WHERE id = {instance_id}")
    tamper(db, *statements)


def truncate_chain(db, instance_id: int, keep: int) -> None:
    """Delete the entries after seq ``keep`` and roll the instance row back to match
    (version, last hash, state and data as they were at ``keep``)."""
    with db.read() as conn:
        rows = [r for r in conn.execute(select(_h).where(
            _h.c.instance_id == instance_id, _h.c.seq <= keep).order_by(_h.c.seq))]
    data = {}
    for row in rows:
        if row.data_patch and "." not in row.trigger:
            data.update(row.data_patch)
    last = rows[-1]
    tamper(db, f"DELETE FROM history WHERE instance_id = {instance_id} AND seq > {keep}",
           f"UPDATE instances SET version = {keep}, last_hash = {_quote(last.hash)}, "
           f"state = {_quote(last.to_state)}, data = {_quote(data)} WHERE id = {instance_id}")


def delete_instance(db, instance_id: int) -> None:
    """Remove an instance without a trace in the tables: its history, timers, outbox
    rows and the row itself."""
    tamper(db, *(f"DELETE FROM {table} WHERE instance_id = {instance_id}"
                 for table in ("history", "timers", "outbox")),
           f"DELETE FROM instances WHERE id = {instance_id}")


def append_entry(db, instance_id: int, at: str, comment: str = "forged") -> int:
    """Append a same-state entry dated ``at`` to the chain of ``instance_id`` with a
    correct hash and move the instance row along (version, last hash) — an entry that
    plain ``audit verify`` accepts; its seq."""
    with db.read() as conn:
        last = conn.execute(select(_h).where(_h.c.instance_id == instance_id)
                            .order_by(_h.c.seq.desc()).limit(1)).first()._mapping
    row = {**last, "seq": last["seq"] + 1, "from_state": last["to_state"],
           "trigger": "note", "at": datetime.fromisoformat(at), "comment": comment,
           "data_patch": None, "data_hash": data_hash(None), "prev_hash": last["hash"]}
    row["hash"] = entry_hash(row)
    columns = [c for c in row if c != "id"]
    tamper(db, f"INSERT INTO history ({', '.join(columns)}) VALUES ("
               + ", ".join(_quote(row[c]) for c in columns) + ")",
           f"UPDATE instances SET version = {row['seq']}, last_hash = {_quote(row['hash'])} "
           f"WHERE id = {instance_id}")
    return row["seq"]
