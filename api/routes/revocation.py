"""CRLs and the OCSP responder of the built-in CA (mounted when the home provides them).

``GET /pki/{name}.crl`` (RFC 5280 CRL, DER), ``POST /ocsp`` and ``GET /ocsp/{base64}``
(RFC 6960 §A.1). Malformed OCSP requests get an OCSP ``malformedRequest`` answer,
as the RFC wants, not an HTTP error.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from edoc.errors import NotFound

from ..deps import RateLimit, StateDep
from ..errors import PayloadTooLarge
from ..models import problems

router = APIRouter(tags=["pki"])

#: an OCSP request for one certificate is about a hundred bytes
MAX_OCSP_REQUEST = 8 * 1024
CRL_NAMES = ("issuing-ca", "root-ca")


@router.get(
    "/pki/{name}.crl",
    response_class=Response,
    responses={200: {"content": {"application/pkix-crl": {}}}, **problems(404)},
)
def crl(name: str, state: StateDep) -> Response:
    """The current CRL of ``root-ca`` or ``issuing-ca`` (re-signed when due)."""
    if name not in CRL_NAMES:
        raise NotFound(f"no CRL {name!r}; published: {', '.join(CRL_NAMES)}")
    der = state.revocation.current_crl(name)
    return Response(der, media_type="application/pkix-crl", headers={"Cache-Control": "public, max-age=600"})


async def _answer(state, der: bytes) -> Response:
    answer = await run_in_threadpool(state.revocation.ocsp_response, der)
    return Response(answer, media_type="application/ocsp-response")


@router.post(
    "/ocsp",
    response_class=Response,
    dependencies=[RateLimit],
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/ocsp-request": {"schema": {"type": "string", "format": "binary"}}}}},
    responses={200: {"content": {"application/ocsp-response": {}}}, **problems(413, 429)},
)
async def ocsp_post(request: Request, state: StateDep) -> Response:
    """Answer a DER OCSP request."""
    body = await request.body()
    if len(body) > MAX_OCSP_REQUEST:
        raise PayloadTooLarge(f"an OCSP request is at most {MAX_OCSP_REQUEST} bytes")
    return await _answer(state, body)


@router.get(
    "/ocsp/{encoded:path}",
    response_class=Response,
    dependencies=[RateLimit],
    responses={200: {"content": {"application/ocsp-response": {}}}, **problems(429)},
)
async def ocsp_get(encoded: str, state: StateDep) -> Response:
    """Answer an OCSP request sent base64-encoded in the URL (for HTTP caches)."""
    text = unquote(encoded)  # clients may percent-encode the base64 twice
    altchars = b"-_" if "-" in text or "_" in text else None
    try:
        der = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars)
    except (binascii.Error, ValueError):
        der = b""  # answered as malformedRequest
    return await _answer(state, der)
