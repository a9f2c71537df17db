"""The Ed25519 keys of audit anchors: generate, load, and read a pinned public key.

The signing key is a PEM (PKCS#8, unencrypted) private key in a file that the setting
``PERFEVAL_ANCHOR_KEY`` names; ``perfeval audit keygen --out FILE`` creates one (mode
0600) and its public half next to it (``FILE.pub``, which auditors pin). A key is
identified by its *key id*: the first 16 hex digits of the SHA-256 of its raw 32-byte
public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

from .exceptions import InvalidInput

KEY_ENV = "PERFEVAL_ANCHOR_KEY"


class AnchorKeyMissing(InvalidInput):
    """No signing key is configured (``PERFEVAL_ANCHOR_KEY``)."""

    code = "anchor_key_missing"


class AnchorKeyInvalid(InvalidInput):
    """A key file that cannot be read or is not an Ed25519 key."""

    code = "anchor_key_invalid"


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of ``key``."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The short, stable name of a public key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def public_pem(key: Ed25519PublicKey) -> str:
    """``key`` as a PEM SubjectPublicKeyInfo block."""
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def keygen(out: str | Path) -> tuple[Path, Path, str]:
    """Write a new private key to ``out`` (mode 0600, never over an existing file) and
    its public key to ``out.pub``; return both paths and the key id."""
    path = Path(out)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"文件已存在,不会覆盖:{path} — {path} exists; a key is never "
                           "overwritten", path=str(path)) from None
    except OSError as exc:
        raise InvalidInput(f"无法写入密钥文件 — cannot write {path}: {exc.strerror}",
                           path=str(path)) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(path, 0o600)  # whatever the umask did
    public = Path(f"{path}.pub")
    public.write_text(public_pem(key.public_key()), encoding="ascii")
    return path, public, key_id(key.public_key())


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM file ``path`` (AnchorKeyInvalid otherwise)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AnchorKeyInvalid(f"无法读取锚点签名密钥 — cannot read the anchor key {path}: "
                               f"{exc.strerror}", path=str(path)) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise AnchorKeyInvalid(f"{path} 不是未加密的 Ed25519 PEM 私钥 — {path} is not an "
                               "unencrypted Ed25519 PEM private key (perfeval audit keygen "
                               "makes one)", path=str(path))
    return key


def configured_key_path() -> str | None:
    """The key file the settings name (``PERFEVAL_ANCHOR_KEY``), if any."""
    return os.environ.get(KEY_ENV) or None


def signing_key(path: str | Path | None = None) -> Ed25519PrivateKey:
    """The key anchors are signed with: ``path``, else the configured one; a clear
    :class:`AnchorKeyMissing` (CLI exit 8) when neither is set."""
    path = path or configured_key_path()
    if not path:
        raise AnchorKeyMissing(f"未配置锚点签名密钥:请用 perfeval audit keygen --out FILE 生成,"
                               f"并设置 {KEY_ENV}=FILE — no anchor signing key: create one with "
                               f"`perfeval audit keygen --out FILE` and set {KEY_ENV}=FILE")
    return load_private_key(path)


def load_public_key(value: bytes | str) -> Ed25519PublicKey:
    """A pinned public key: PEM public key, PEM private key (its public half) or the
    base64 of the 32 raw bytes (as anchors embed it)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    text = data.strip()
    key = None
    try:
        if b"PRIVATE KEY" in text:
            private = serialization.load_pem_private_key(text, password=None)
            key = private.public_key() if isinstance(private, Ed25519PrivateKey) else None
        elif b"PUBLIC KEY" in text:
            key = serialization.load_pem_public_key(text)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise AnchorKeyInvalid("公钥无效:须为 Ed25519 PEM 公钥 — the public key is not an "
                               "Ed25519 key (PEM, or base64 of its 32 raw bytes)",
                               field="public_key")
    return key
