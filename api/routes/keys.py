"""``/v1/keys``: API key management for admins. Secrets are shown once, at creation."""

from __future__ import annotations

from fastapi import APIRouter, Query

from edoc.agencies import known_agencies, known_agency
from edoc.errors import DataInvalid, FieldError
from storage.registry import ApiKey

from ..deps import AdminKey, RegistryDep, StateDep
from ..models import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, problems

router = APIRouter(prefix="/v1/keys", tags=["api keys"])


def key_public(key: ApiKey) -> ApiKeyPublic:
    """The API view of a key."""
    return ApiKeyPublic(id=key.id, agency=key.agency, roles=sorted(key.roles), label=key.label,
                        created_at=key.created_at, revoked_at=key.revoked_at, active=key.active)


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=problems(401, 403, 422))
def create_key(body: ApiKeyCreate, admin: AdminKey, registry: RegistryDep, state: StateDep) -> ApiKeyCreated:
    """Create a key for an agency with some roles; the answer holds its secret, shown this once."""
    if not known_agency(body.agency, state.settings):  # its key could never issue
        known = ", ".join(known_agencies(state.settings))
        raise DataInvalid([FieldError("agency", f"unknown agency {body.agency!r}; this service serves {known}")])
    key, secret = registry.create_api_key(agency=body.agency, roles=set(body.roles), label=body.label)
    registry.audit.append("apikey.created", actor=admin.id, agency=key.agency, subject=key.id,
                          details={"roles": sorted(key.roles), "label": key.label})
    return ApiKeyCreated(**key_public(key).model_dump(), secret=secret)


@router.get("", response_model=list[ApiKeyPublic], responses=problems(401, 403))
def list_keys(admin: AdminKey, registry: RegistryDep,
              agency: str | None = Query(default=None, max_length=64)) -> list[ApiKeyPublic]:
    """Every key (active and revoked), oldest first, without secrets."""
    return [key_public(k) for k in registry.list_api_keys(agency)]


@router.post("/{key_id}/revoke", response_model=ApiKeyPublic, responses=problems(401, 403, 404))
def revoke_key(key_id: str, admin: AdminKey, registry: RegistryDep) -> ApiKeyPublic:
    """Revoke a key for good; it stops authenticating at once."""
    key = registry.revoke_api_key(key_id)
    registry.audit.append("apikey.revoked", actor=admin.id, agency=key.agency, subject=key.id, details={})
    return key_public(key)
