"""The content hash that versions a definition.

Two files that parse to the same document (whatever their comments, whitespace, key
order or quoting) get the same hash; any change to the data changes it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(document: Any) -> str:
    """The document as compact JSON with sorted keys and unescaped non-ASCII text."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(document: Any) -> str:
    """SHA-256 hex digest of :func:`canonical_json` of the parsed document."""
    return hashlib.sha256(canonical_json(document).encode("utf-8", "surrogatepass")).hexdigest()
