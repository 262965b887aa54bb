"""Timestamp clients for the sealer: the built-in TSA in-process, or an external TSA over HTTP.

Both are pyHanko :class:`TimeStamper` subclasses, so the sealer does not care
which one it is given.
"""

from __future__ import annotations

from asn1crypto import cms, tsp
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from ._aio import run_sync
from .errors import TimestampError
from .tsa import TimeStampAuthority, TimeStampRefused


class InProcessTimeStamper(TimeStamper):
    """Asks the built-in :class:`TimeStampAuthority` directly, with no HTTP round trip.

    Tokens come straight from :meth:`TimeStampAuthority.async_token`: no
    TimeStampReq or TimeStampResp is built around them (~0.25 ms per token),
    and so no nonce either. Requests given to :meth:`async_request_tsa_response`
    are still answered, as over HTTP.
    """

    def __init__(self, tsa: TimeStampAuthority):
        super().__init__(include_nonce=False)
        self._tsa = tsa

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            return await self._tsa.async_token(message_digest, md_algorithm)
        except TimeStampRefused as exc:
            raise TimestampRequestError(f"the built-in TSA refused: {exc}") from exc

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await self._tsa.async_respond_request(req)


def http_timestamper(url: str, *, timeout: float = 10.0) -> TimeStamper:
    """A timestamper for an external RFC 3161 TSA at ``url``."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"TSA URL must be http(s): {url!r}")
    return HTTPTimeStamper(url, timeout=int(timeout))


def timestamp_digest(timestamper: TimeStamper, digest: bytes, algorithm: str = "sha256") -> bytes:
    """Timestamp a digest and return the DER token (used to anchor the audit log)."""
    try:
        token = run_sync(timestamper.async_timestamp(digest, algorithm))
    except (TimestampRequestError, OSError) as exc:
        raise TimestampError(f"the TSA did not grant a timestamp: {exc}") from exc
    return token.dump()
