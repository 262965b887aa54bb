"""The completion webhook: a JSON POST signed with HMAC-SHA256 over a timestamp and the body.

Headers: ``X-Edoc-Timestamp`` (Unix seconds) and ``X-Edoc-Signature:
sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``. A receiver recomputes the
HMAC and refuses a timestamp older than a few minutes (replays). Delivery is retried
with exponential backoff until the receiver answers 2xx or the attempts run out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

log = logging.getLogger(__name__)

__all__ = ["deliver", "sign", "verify_signature"]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Edoc-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, *,
                     max_age: float = 300, now: float | None = None) -> bool:
    """What a receiver does: the HMAC matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > max_age:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def deliver(url: str, secret: str | None, payload: dict[str, Any], *, attempts: int = 5,
            first_delay: float = 0.5, timeout: float = 10.0) -> bool:
    """POST ``payload`` to ``url`` until a 2xx answer; True if one came."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    delay = first_delay
    for attempt in range(1, attempts + 1):
        ts = int(time.time())
        headers = {"Content-Type": "application/json", "X-Edoc-Timestamp": str(ts),
                   "User-Agent": "edoc-batch-webhook"}
        if secret:
            headers["X-Edoc-Signature"] = sign(secret, ts, body)
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=timeout)
            if 200 <= answer.status_code < 300:
                return True
            log.warning("webhook attempt %d: HTTP %d", attempt, answer.status_code)
        except httpx.HTTPError as exc:
            log.warning("webhook attempt %d: %s", attempt, type(exc).__name__)
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    return False
