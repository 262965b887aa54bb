"""Holder download tokens: ``?token=`` secrets that carry their own expiry
(the issuer makes them expire a lifetime after the document's issue time).

A token is ``<expiry>.<mac>``: the expiry (Unix seconds, base 36) and an HMAC
over the document id and that expiry, with the home's holder-link key. Nothing is
stored: the server recomputes the MAC, so a token cannot be stretched or moved
to another document, and it stops working at its expiry.

Tokens handed out before expiries existed (the bare MAC of the id) keep working
until ``issued_at + lifetime`` of their document, then expire like the others.

>>> links = HolderLinks(b"k" * 32, timedelta(days=90))
>>> token = links.token("DOC-1", now=datetime(2026, 1, 1, tzinfo=UTC))
>>> links.check("DOC-1", token, issued_at=None, now=datetime(2026, 2, 1, tzinfo=UTC))
'valid'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Literal

TokenState = Literal["valid", "expired", "wrong"]

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def _same(a: str, b: str) -> bool:
    # compare bytes: hmac.compare_digest refuses a str with non-ASCII characters (a 500 before)
    return hmac.compare_digest(a.encode(), b.encode("utf-8", "replace"))


class HolderLinks:
    """Makes and checks holder tokens valid for ``lifetime`` from when they are made."""

    def __init__(self, key: bytes, lifetime: timedelta):
        self._key = key
        self.lifetime = lifetime

    def token(self, doc_id: str, *, now: datetime) -> str:
        """A token for ``doc_id`` that expires ``lifetime`` after ``now``."""
        expiry = _b36(int((now + self.lifetime).timestamp()))
        return expiry + "." + _mac(self._key, doc_id + "\n" + expiry)

    def expiry(self, token: str) -> datetime | None:
        """When a well-formed token expires (None for a legacy or malformed one)."""
        head, dot, _ = token.partition(".")
        if not dot or not head or len(head) > 7 or any(c not in _B36 for c in head):
            return None  # 7 base-36 digits reach the year 4453
        return datetime.fromtimestamp(int(head, 36), UTC)

    def check(self, doc_id: str, token: str, *, issued_at: datetime | None, now: datetime) -> TokenState:
        """Whether ``token`` opens ``doc_id`` at ``now``: valid, expired, or wrong (any other string)."""
        token = token or ""
        head, dot, _ = token.partition(".")
        if dot:
            expires = self.expiry(token)
            if expires is None or not _same(head + "." + _mac(self._key, doc_id + "\n" + head), token):
                return "wrong"
        else:  # a token from before expiries: the MAC of the id alone
            if not _same(_mac(self._key, doc_id), token) or issued_at is None:
                return "wrong"
            expires = issued_at + self.lifetime
        return "valid" if now < expires else "expired"
