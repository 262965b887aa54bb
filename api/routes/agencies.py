"""``/v1/agencies`` (platform keys) and ``/v1/agency`` (an agency admin's own agency).

A platform key onboards and manages agencies: creates one with its seal and
first admin key, lists them, disables or enables, rotates a seal key, fetches a
CSR for an outside CA and installs its answer. It never reads documents. An
agency admin reads and changes its own agency's branding and default level.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from edoc.agencies import AgencyService, known_agency
from storage.agencies import AgencyRecord

from ..deps import AdminKey, HomeDep, PlatformKey, RegistryDep
from ..models import AGENCY_PATTERN, problems

router = APIRouter(tags=["agencies"])

AgencyId = Annotated[str, PathParam(pattern=AGENCY_PATTERN, max_length=64)]
Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]


class AgencyPublic(BaseModel):
    """An agency as the platform knows it."""

    id: str
    name_th: str
    name_en: str
    address_th: str | None
    address_en: str | None
    contact: str | None
    has_logo: bool
    signing_level: str | None
    status: str
    seal_key_source: str
    created_at: datetime | None
    disabled_at: datetime | None


class AgencyCreate(BaseModel):
    """An agency to onboard."""

    id: str = Field(pattern=AGENCY_PATTERN, max_length=64, examples=["dopa"])
    name_th: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    address_th: str | None = Field(default=None, max_length=500)
    address_en: str | None = Field(default=None, max_length=500)
    contact: str | None = Field(default=None, max_length=300)
    signing_level: Level | None = None
    external_ca: bool = Field(default=False, description="Make the seal key only; fetch its CSR next.")


class AgencyChange(BaseModel):
    """Branding and defaults an agency admin may change."""

    name_th: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    address_th: str | None = Field(default=None, max_length=500)
    address_en: str | None = Field(default=None, max_length=500)
    contact: str | None = Field(default=None, max_length=300)
    signing_level: Level | None = None


class FirstAdminKey(BaseModel):
    """The new agency's first admin key; the secret is shown this once."""

    id: str
    secret: str


class AgencyCreated(AgencyPublic):
    """A new agency and its first admin key."""

    admin_key: FirstAdminKey
    csr_pem: str | None = None


class CertificateImport(BaseModel):
    """An outside CA's answer to the agency's CSR (PEM)."""

    certificate: str = Field(max_length=100_000)
    chain: str = Field(default="", max_length=200_000)


def agency_public(record: AgencyRecord) -> AgencyPublic:
    """The API view of an agency (its logo is served separately)."""
    return AgencyPublic(
        id=record.id, name_th=record.name_th, name_en=record.name_en, address_th=record.address_th,
        address_en=record.address_en, contact=record.contact, has_logo=record.logo is not None,
        signing_level=record.signing_level, status=record.status, seal_key_source=record.seal_key_source,
        created_at=record.created_at, disabled_at=record.disabled_at,
    )


# -- the platform -----------------------------------------------------------------------


@router.post("/v1/agencies", status_code=201, response_model=AgencyCreated, responses=problems(401, 403, 409, 422))
def create_agency(body: AgencyCreate, key: PlatformKey, home: HomeDep) -> AgencyCreated:
    """Onboard an agency: its seal key and certificate (or CSR) and its first admin key."""
    made = AgencyService(home, actor=key.id).add(
        body.id, name_th=body.name_th, name_en=body.name_en, external_ca=body.external_ca,
        address_th=body.address_th, address_en=body.address_en, contact=body.contact, level=body.signing_level,
    )
    return AgencyCreated(
        **agency_public(made.record).model_dump(),
        admin_key=FirstAdminKey(id=made.admin_key.id, secret=made.secret),
        csr_pem=made.csr_pem.decode() if made.csr_pem else None,
    )


@router.get("/v1/agencies", response_model=list[AgencyPublic], responses=problems(401, 403))
def list_agencies(key: PlatformKey, registry: RegistryDep) -> list[AgencyPublic]:
    """Every agency of the platform, oldest first."""
    return [agency_public(r) for r in registry.agencies.list()]


@router.get("/v1/agencies/{agency_id}", response_model=AgencyPublic, responses=problems(401, 403, 404))
def get_agency(agency_id: AgencyId, key: PlatformKey, registry: RegistryDep) -> AgencyPublic:
    """One agency."""
    return agency_public(known_agency(registry, agency_id))


@router.post("/v1/agencies/{agency_id}/disable", response_model=AgencyPublic, responses=problems(401, 403, 404))
def disable_agency(agency_id: AgencyId, key: PlatformKey, home: HomeDep) -> AgencyPublic:
    """Stop the agency issuing; its documents keep verifying with their status."""
    return agency_public(AgencyService(home, actor=key.id).set_status(agency_id, False))


@router.post("/v1/agencies/{agency_id}/enable", response_model=AgencyPublic, responses=problems(401, 403, 404))
def enable_agency(agency_id: AgencyId, key: PlatformKey, home: HomeDep) -> AgencyPublic:
    """Let a disabled agency issue again."""
    return agency_public(AgencyService(home, actor=key.id).set_status(agency_id, True))


@router.post("/v1/agencies/{agency_id}/rotate-key", response_model=AgencyPublic,
             responses=problems(401, 403, 404, 500))
def rotate_agency_key(agency_id: AgencyId, key: PlatformKey, home: HomeDep) -> AgencyPublic:
    """A new seal key and certificate from the built-in CA; documents sealed before keep verifying."""
    service = AgencyService(home, actor=key.id)
    service.rotate_key(agency_id)
    return agency_public(service.get(agency_id))


@router.get("/v1/agencies/{agency_id}/csr", response_class=Response, responses={
    200: {"content": {"application/pkcs10": {}}, "description": "PEM certificate request"},
    **problems(401, 403, 404)})
def agency_csr(agency_id: AgencyId, key: PlatformKey, home: HomeDep) -> Response:
    """A PKCS#10 request for the agency's seal key, for an outside CA."""
    return Response(AgencyService(home, actor=key.id).csr(agency_id), media_type="application/pkcs10")


@router.post("/v1/agencies/{agency_id}/certificate", response_model=AgencyPublic,
             responses=problems(401, 403, 404, 422))
def import_agency_certificate(agency_id: AgencyId, body: CertificateImport, key: PlatformKey,
                              home: HomeDep) -> AgencyPublic:
    """Install the outside CA's certificate once it matches the key and chains to a trusted root."""
    service = AgencyService(home, actor=key.id)
    with tempfile.TemporaryDirectory() as tmp:
        cert, chain = Path(tmp) / "cert.pem", Path(tmp) / "chain.pem"
        cert.write_text(body.certificate)
        chain.write_text(body.chain)
        service.import_cert(agency_id, cert, chain if body.chain.strip() else None)
    return agency_public(service.get(agency_id))


# -- an agency admin's own agency -------------------------------------------------------


@router.get("/v1/agency", response_model=AgencyPublic, responses=problems(401, 403, 404))
def own_agency(key: AdminKey, registry: RegistryDep) -> AgencyPublic:
    """The admin's own agency."""
    return agency_public(known_agency(registry, key.agency))


@router.patch("/v1/agency", response_model=AgencyPublic, responses=problems(401, 403, 404, 422))
def change_own_agency(body: AgencyChange, key: AdminKey, home: HomeDep) -> AgencyPublic:
    """Change the agency's names, address, contact or default PAdES level."""
    changes = body.model_dump(exclude_unset=True)
    return agency_public(AgencyService(home, actor=key.id).brand(key.agency, **changes))


@router.put("/v1/agency/logo", response_model=AgencyPublic, responses=problems(401, 403, 404, 413, 422))
def set_own_logo(key: AdminKey, home: HomeDep,
                 image: Annotated[bytes, Body(media_type="image/png", description="PNG or JPEG, at most 512 KB")]
                 ) -> AgencyPublic:
    """Set the logo its documents and public page show."""
    return agency_public(AgencyService(home, actor=key.id).brand(key.agency, logo=image))


@router.post("/v1/agency/rotate-key", response_model=AgencyPublic, responses=problems(401, 403, 404, 500))
def rotate_own_key(key: AdminKey, home: HomeDep) -> AgencyPublic:
    """A new seal key and certificate for the admin's own agency; its documents keep verifying."""
    service = AgencyService(home, actor=key.id)
    service.rotate_key(key.agency)
    return agency_public(service.get(key.agency))


# -- public -----------------------------------------------------------------------------


@router.get("/agency/{agency_id}/logo", response_class=Response, include_in_schema=True, responses={
    200: {"content": {"image/png": {}, "image/jpeg": {}}}, **problems(404)})
async def agency_logo(agency_id: AgencyId, registry: RegistryDep) -> Response:
    """An agency's logo, as the public verification page shows it."""
    from edoc.errors import NotFound

    record = registry.agencies.find(agency_id)
    if record is None or record.logo is None:
        raise NotFound(f"no logo for agency {agency_id!r}")
    kind = "image/png" if record.logo.startswith(b"\x89PNG") else "image/jpeg"
    return Response(record.logo, media_type=kind, headers={"Cache-Control": "public, max-age=300",
                                                           "X-Content-Type-Options": "nosniff"})
