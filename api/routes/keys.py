"""``/v1/keys``: API key management. Secrets are shown once, at creation.

An agency admin manages its own agency's keys only (another agency's answer 404,
as missing ones do); a platform key may create an agency's admin keys and
revoke any key, but never gives a role that reads documents.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from edoc.agencies import known_agency
from edoc.errors import NotFound
from storage.errors import ApiKeyNotFound
from storage.registry import ApiKey

from ..deps import KeyManagerKey, RegistryDep, agency_scope
from ..errors import PermissionDenied
from ..models import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, problems

router = APIRouter(prefix="/v1/keys", tags=["api keys"])


def key_public(key: ApiKey) -> ApiKeyPublic:
    """The API view of a key."""
    return ApiKeyPublic(id=key.id, agency=key.agency, roles=sorted(key.roles), label=key.label,
                        created_at=key.created_at, revoked_at=key.revoked_at, active=key.active)


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=problems(401, 403, 404, 422))
def create_key(body: ApiKeyCreate, manager: KeyManagerKey, registry: RegistryDep) -> ApiKeyCreated:
    """Create a key of the admin's own agency (a platform key: an agency's admin key); the answer
    holds its secret, shown this once."""
    agency = agency_scope(manager, body.agency)
    assert agency is not None
    known_agency(registry, agency)  # 404 for an agency that does not exist
    if "platform" in manager.roles and set(body.roles) != {"admin"}:
        raise PermissionDenied("a platform key creates an agency's admin keys only; "
                               "the agency admin gives the other roles")
    key, secret = registry.create_api_key(agency=agency, roles=set(body.roles), label=body.label)
    registry.audit.append("apikey.created", actor=manager.id, agency=key.agency, subject=key.id,
                          details={"roles": sorted(key.roles), "label": key.label})
    return ApiKeyCreated(**key_public(key).model_dump(), secret=secret)


@router.get("", response_model=list[ApiKeyPublic], responses=problems(401, 403, 404))
def list_keys(manager: KeyManagerKey, registry: RegistryDep,
              agency: str | None = Query(default=None, max_length=64)) -> list[ApiKeyPublic]:
    """The agency's keys (a platform key: every key, or one agency's), oldest first, without secrets."""
    return [key_public(k) for k in registry.list_api_keys(agency_scope(manager, agency))]


@router.post("/{key_id}/revoke", response_model=ApiKeyPublic, responses=problems(401, 403, 404))
def revoke_key(key_id: str, manager: KeyManagerKey, registry: RegistryDep) -> ApiKeyPublic:
    """Revoke a key for good; it stops authenticating at once."""
    if "platform" not in manager.roles:
        mine = {k.id for k in registry.list_api_keys(manager.agency)}
        if key_id not in mine:
            raise NotFound(f"no API key {key_id}")
    try:
        key = registry.revoke_api_key(key_id)
    except ApiKeyNotFound as exc:
        raise NotFound(f"no API key {key_id}") from exc
    registry.audit.append("apikey.revoked", actor=manager.id, agency=key.agency, subject=key.id, details={})
    return key_public(key)
