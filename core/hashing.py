"""Canonical JSON and the content hash of a signed record: one byte form for every app.

``canonical_json`` is sorted keys, no spaces, UTF-8 text kept as is, and dates, decimals and other
values as their text; ``content_sha256`` hashes that form of the content as it reads back from a JSON
column (so a hash of what was signed and of what is stored agree)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(content: Any) -> str:
    """One byte-exact serialisation: sorted keys, no spaces, text for dates and decimals."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def normalised(content: Any) -> Any:
    """``content`` as it reads back from a JSON column, so hashes of stored and rebuilt agree."""
    return json.loads(canonical_json(content))


def content_sha256(content: Any) -> str:
    """The hex SHA-256 of ``content``'s canonical JSON (as stored): what a signature records."""
    return hashlib.sha256(canonical_json(normalised(content)).encode()).hexdigest()
