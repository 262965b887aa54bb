"""``POST /tsa``: the built-in RFC 3161 time-stamp authority over HTTP (RFC 3161 §3.4).

>>> # openssl ts -query -data f -sha256 -cert | curl -H 'Content-Type: application/timestamp-query' \\
>>> #     --data-binary @- http://127.0.0.1:8000/tsa > f.tsr
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from edoc.errors import NotFound

from ..deps import HomeDep, RateLimit, StateDep
from ..errors import PayloadTooLarge, UnsupportedMediaType
from ..models import problems

router = APIRouter(tags=["timestamps"], dependencies=[RateLimit])

#: a TimeStampReq is a few hundred bytes; anything this large is not one
MAX_REQUEST_BYTES = 16 * 1024
_ACCEPTED = ("application/timestamp-query", "application/octet-stream")


@router.post(
    "/tsa",
    response_class=Response,
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/timestamp-query": {"schema": {"type": "string", "format": "binary"}}}}},
    responses={200: {"content": {"application/timestamp-reply": {}},
                     "description": "A DER TimeStampResp (granted, or a rejection with its reason)"},
               **problems(404, 413, 415, 429)},
)
async def timestamp(request: Request, home: HomeDep, state: StateDep) -> Response:
    """Answer a DER TimeStampReq with a DER TimeStampResp; bad requests get a rejection reply."""
    tsa = home.tsa
    if tsa is None:
        raise NotFound("this installation has no built-in TSA (its tsa key is missing)")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _ACCEPTED:
        raise UnsupportedMediaType(
            "send the DER TimeStampReq with Content-Type: application/timestamp-query"
            f" (got {content_type or 'none'})"
        )
    body = await request.body()
    if len(body) > MAX_REQUEST_BYTES:
        raise PayloadTooLarge(f"a time-stamp request is at most {MAX_REQUEST_BYTES} bytes")
    reply = await tsa.async_respond(body)
    state.metrics.timestamps.inc()
    return Response(reply, media_type="application/timestamp-reply")
