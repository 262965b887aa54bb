"""``GET /pki/...``: the CA and TSA certificates relying parties need (the AIA URLs point here)."""

from __future__ import annotations

from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Response

from edoc.errors import NotFound

from ..deps import HomeDep, StateDep
from ..models import problems

router = APIRouter(prefix="/pki", tags=["pki"])

#: what is published, by the name in the URL
PUBLISHED = ("root-ca", "issuing-ca", "tsa")
_ROLE_ATTR = {"root-ca": "root_ca", "issuing-ca": "issuing_ca", "tsa": "tsa"}
_CACHE = "public, max-age=3600"


def _certificate(home, name: str) -> x509.Certificate:
    credential = getattr(home.pki, _ROLE_ATTR[name], None) if name in _ROLE_ATTR else None
    if credential is None:
        raise NotFound(f"no certificate {name!r} is published here; see /pki/ for the list")
    return credential.cert


@router.get("/", summary="List the published certificates")
def index(home: HomeDep, state: StateDep) -> dict[str, list[dict[str, str]]]:
    """The published certificates with their URLs."""
    base = state.settings.public_base_url
    out = []
    for name in PUBLISHED:
        credential = getattr(home.pki, _ROLE_ATTR[name], None)
        if credential is not None:
            out.append({
                "name": name,
                "subject": credential.cert.subject.rfc4514_string(),
                "der": f"{base}/pki/{name}.crt",
                "pem": f"{base}/pki/{name}.pem",
            })
    return {"certificates": out}


@router.get(
    "/{name}.crt",
    response_class=Response,
    responses={200: {"content": {"application/pkix-cert": {}}}, **problems(404)},
)
def certificate_der(name: str, home: HomeDep) -> Response:
    """A certificate in DER (``application/pkix-cert``, RFC 2585), as AIA clients expect."""
    return _serve(_certificate(home, name), "der")


@router.get(
    "/{name}.pem",
    response_class=Response,
    responses={200: {"content": {"application/x-pem-file": {}}}, **problems(404)},
)
def certificate_pem(name: str, home: HomeDep) -> Response:
    """A certificate in PEM."""
    return _serve(_certificate(home, name), "pem")


def _serve(cert: x509.Certificate, form: Literal["der", "pem"]) -> Response:
    if form == "der":
        return Response(cert.public_bytes(serialization.Encoding.DER), media_type="application/pkix-cert",
                        headers={"Cache-Control": _CACHE})
    return Response(cert.public_bytes(serialization.Encoding.PEM), media_type="application/x-pem-file",
                    headers={"Cache-Control": _CACHE})
