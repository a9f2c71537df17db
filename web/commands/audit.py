"""``perfeval audit verify|export|anchor|keygen``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import export_history, verify_history
from engine.anchor import anchor, document_text, verify_anchor
from engine.anchor_keys import keygen, signing_key
from engine.exceptions import InvalidInput

from .common import db_options, emit


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"无法读取{what} — cannot read {path}: {exc.strerror}",
                           path=path) from None


def _print_problems(problems, ok: bool, summary: str) -> None:
    for p in problems:
        click.echo(f"篡改或缺失 TAMPERED: {p}", err=True)
    if ok:
        click.echo(summary)
    else:
        first = problems[0]
        where = f"instance {first.instance_id} seq {first.seq}" if first.instance_id else str(first)
        click.echo(f"FAILED: first problem at {where}; {len(problems)} problem(s)")


def _verify_plain(db, as_json: bool) -> bool:
    report = verify_history(db)
    emit(as_json, report.to_dict())
    if not as_json:
        _print_problems(report.problems, report.ok, f"OK: {report.instances} instances, "
                                                    f"{report.entries} entries verified")
    return report.ok


def _verify_anchored(db, as_json: bool, anchor_file: str, public_key: str | None) -> bool:
    pinned = _read(public_key, "公钥文件") if public_key else None
    report = verify_anchor(db, _read(anchor_file, "锚点文件"), pinned)
    emit(as_json, report.to_dict())
    if not as_json:
        for warning in report.warnings:
            click.echo(f"警告 warning: {warning}", err=True)
        a = report.anchored
        _print_problems(report.problems, report.ok,
                        f"OK: anchor of {a['moment']} (key {report.key_id}, "
                        f"{report.key_source}) holds; {a['instances']} → "
                        f"{report.current.get('instances')} instances, {a['entries']} → "
                        f"{report.current.get('entries')} entries verified")
    return report.ok


def register(main: click.Group) -> None:
    """Attach the ``audit`` group to ``main``."""

    @main.group("audit")
    def group() -> None:
        """Verify and export the tamper-evident history; sign and check anchors."""

    @group.command("verify")
    @click.option("--anchor", "anchor_file", type=click.Path(dir_okay=False), default=None,
                  help="Also check the database against this signed anchor file.")
    @click.option("--public-key", type=click.Path(dir_okay=False), default=None,
                  help="The anchor must be signed by this key (PEM), kept outside the "
                       "database; default: the configured key's, else the embedded one.")
    @db_options
    def verify_cmd(db, as_json, anchor_file, public_key):
        """Check every history chain and each instance's data (with --anchor: against a
        signed anchor); exit 1 naming each bad instance and seq."""
        if public_key and not anchor_file:
            raise InvalidInput("--public-key 需与 --anchor 一起使用 — --public-key needs --anchor")
        ok = (_verify_anchored(db, as_json, anchor_file, public_key) if anchor_file
              else _verify_plain(db, as_json))
        raise SystemExit(0 if ok else 1)

    _anchor_commands(group)

    @group.command("export")
    @click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl")
    @click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
    @db_options
    def export_cmd(db, as_json, fmt, output):
        """Write the whole history as CSV or JSON Lines (stdout by default)."""
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                count = export_history(db, out, fmt)
            click.echo(f"{count} entries written to {output}", err=True)
        else:
            export_history(db, sys.stdout, fmt)


def _anchor_commands(group: click.Group) -> None:
    """Attach ``audit anchor`` and ``audit keygen`` to ``group``."""

    @group.command("anchor")
    @click.option("--out", "-o", type=click.Path(dir_okay=False), default=None,
                  help="Write the anchor here (default: stdout).")
    @click.option("--key", type=click.Path(dir_okay=False), default=None,
                  help="Signing key (PEM); default: the file PERFEVAL_ANCHOR_KEY names.")
    @db_options
    def anchor_cmd(db, as_json, out, key):
        """Write a signed anchor of every chain head, to keep outside the database."""
        doc = anchor(db, signing_key(key), origin="cli", created_by="cli")
        text = document_text({k: v for k, v in doc.items() if k != "id"})
        body = doc["body"]
        summary = (f"锚点 anchor #{doc['id']}: {body['instances']} instances, {body['entries']} "
                   f"entries, root {body['merkle_root'][:16]}…, key {doc['signature']['key_id']}")
        if out:
            Path(out).write_text(text, encoding="utf-8")
            emit(as_json, {"id": doc["id"], "file": out, **{k: body[k] for k in (
                "moment", "instances", "entries", "merkle_root")}}, f"{summary} → {out}")
        else:
            sys.stdout.write(text)
            click.echo(summary, err=True)

    @group.command("keygen")
    @click.option("--out", required=True, type=click.Path(dir_okay=False),
                  help="Private key file to create (mode 0600); the public key goes to FILE.pub.")
    def keygen_cmd(out):
        """Create an Ed25519 signing key for anchors (never overwrites a file)."""
        path, public, key_id = keygen(out)
        click.echo(f"私钥 private key: {path} (0600)\n公钥 public key: {public} (give it to "
                   f"the auditors)\nkey id: {key_id}\nexport PERFEVAL_ANCHOR_KEY={path}")
