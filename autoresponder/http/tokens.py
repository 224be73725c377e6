"""API tokens: ``ar_<id>_<secret>``, 32 random bytes of secret, shown once.

The store keeps the token's public id (for `token list` / `token revoke`) and the SHA-256 of
the whole token: a random 256-bit secret needs no slow hash, and a database that leaks gives
no usable token. Checking looks the row up by id, then compares digests in constant time
(``hmac.compare_digest``), so the time taken says nothing about the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from autoresponder.store.base import ApiToken

PREFIX = "ar_"
MAX_LEN = 200  # a longer Authorization value is not one of ours: refused before any lookup


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def make(account: "str | None", label: str, now_iso: str) -> "tuple[str, ApiToken]":
    """A new token (the text to show once) and the row to store. account None: admin."""
    token_id = secrets.token_hex(6)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    return token, ApiToken(token_id, digest(token), account, label or None, now_iso, None)


def token_id_of(token: str) -> "str | None":
    """The public id inside a token, or None when the text is not shaped like one."""
    if len(token) > MAX_LEN or not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX):].partition("_")
    if not sep or not secret or len(token_id) != 12 or \
            any(c not in "0123456789abcdef" for c in token_id):
        return None
    return token_id


def check(store, token: str) -> "ApiToken | None":
    """The live token row this text proves, or None (unknown, wrong secret, revoked)."""
    token_id = token_id_of(token)
    if token_id is None:
        return None
    row = store.token_get(token_id)
    expected = row.digest if row is not None else "0" * 64
    same = hmac.compare_digest(expected, digest(token))
    if row is None or not same or row.revoked_at:
        return None
    return row
