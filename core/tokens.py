"""Secret link tokens (calendar feeds, questionnaire links, reminder links): issued from the OS CSPRNG,
given to their holder once, and stored only as a hash (security-reference A9).

``issue()`` returns ``(token, token_hash)``; ``hash_token(token)`` is what a lookup filters on;
``verify(token, token_hash)`` compares in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32  # 256 bits


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue() -> tuple[str, str]:
    """A new URL-safe token and its hash (store the hash; hand out the token)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def verify(token: str, token_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), token_hash)
