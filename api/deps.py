"""Dependencies shared by the routes, as ``Annotated`` aliases.

>>> @router.get("/v1/things")
... def things(registry: RegistryDep, key: ReaderKey): ...  # doctest: +SKIP

Authentication takes ``Authorization: Bearer <secret>`` or ``X-API-Key: <secret>``.
Errors are raised as domain errors and answered by :mod:`api.errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from edoc.home import Home
from edoc.issuance import Issuer
from edoc.verification import Verifier
from storage.registry import ApiKey, Registry

from .authfirst import STATE_KEY
from .errors import PermissionDenied, Unauthenticated
from .state import ServiceState

# Dependencies that only read state are ``async def``: FastAPI runs a plain ``def``
# one in its thread pool, a hop per request that, in a worker busy issuing,
# waits its turn for the interpreter lock.


async def get_state(request: Request) -> ServiceState:
    """The app's :class:`ServiceState`."""
    return request.app.state.edoc


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_home(state: StateDep) -> Home:
    return state.home


async def get_registry(state: StateDep) -> Registry:
    return state.registry


async def get_issuer(state: StateDep) -> Issuer:
    return state.issuer


async def get_verifier(state: StateDep) -> Verifier:
    return state.verifier


HomeDep = Annotated[Home, Depends(get_home)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
IssuerDep = Annotated[Issuer, Depends(get_issuer)]
VerifierDep = Annotated[Verifier, Depends(get_verifier)]

# -- clients and rate limits ------------------------------------------------------------


def client_address(request: Request) -> str:
    """The client's address (behind a proxy, run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


async def rate_limited(request: Request, state: StateDep) -> None:
    """Take a token from the client's bucket; 429 when it is empty."""
    state.limiter.check(client_address(request))


#: add to ``dependencies=[...]`` of public routes
RateLimit = Depends(rate_limited)

# -- API keys ---------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="An edoc API key: `Authorization: Bearer edoc_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An edoc API key")


def optional_key(
    request: Request,
    registry: RegistryDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> ApiKey | None:
    """The authenticated key, None when the request carries none; 401 for a bad one.

    A malformed secret (any length, any characters, non-ASCII included) is simply
    not a key: 401, never a 500. :class:`api.authfirst.AuthBeforeBody` may have
    authenticated it already, before the body was read.
    """
    known = getattr(request.state, STATE_KEY, None)
    if isinstance(known, ApiKey):
        return known
    secret = bearer.credentials if bearer is not None else header
    if not secret:
        return None
    key = registry.authenticate(secret)
    if key is None:
        raise Unauthenticated("the API key is unknown or has been revoked")
    return key


OptionalKey = Annotated[ApiKey | None, Depends(optional_key)]


async def current_key(key: OptionalKey) -> ApiKey:
    """The authenticated key; 401 when there is none."""
    if key is None:
        raise Unauthenticated(
            "this endpoint needs an API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"
        )
    return key


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def require_role(*roles: str):
    """A dependency admitting keys that carry at least one of ``roles``."""
    wanted = frozenset(roles)

    async def check(key: CurrentKey) -> ApiKey:
        if not key.roles & wanted:
            raise PermissionDenied(
                f"this needs an API key with the role {' or '.join(sorted(wanted))}; "
                f"key {key.id} has {', '.join(sorted(key.roles))}"
            )
        return key

    return check


# Roles (a key acts within its own agency only; see README "Roles"):
#   issuer   issues, reads and revokes its agency's documents
#   auditor  reads its agency's documents and audit trail
#   admin    its agency's API keys and settings (never another agency's; never documents)
#   platform manages agencies; belongs to no agency, never reads documents or audit entries
IssuerKey = Annotated[ApiKey, Depends(require_role("issuer"))]
#: may read its own agency's documents (an admin alone may not: documents carry personal data)
ReaderKey = Annotated[ApiKey, Depends(require_role("issuer", "auditor"))]
#: reads its own agency's audit trail
AuditorKey = Annotated[ApiKey, Depends(require_role("auditor", "admin"))]
#: its own agency's keys and settings
AdminKey = Annotated[ApiKey, Depends(require_role("admin"))]
#: manages the platform's agencies (a distinct role, never the default)
PlatformKey = Annotated[ApiKey, Depends(require_role("platform"))]
#: an agency admin (its agency) or the platform (any agency): key management
KeyManagerKey = Annotated[ApiKey, Depends(require_role("admin", "platform"))]


def audit_scope(key: ApiKey) -> str:
    """The one agency whose audit trail ``key`` may read: always its own."""
    return key.agency


def agency_scope(key: ApiKey, agency: str | None) -> str | None:
    """The agency ``key`` acts on when it names ``agency``: its own, or NotFound for another.

    A platform key may name any agency (None: every agency).
    """
    from edoc.errors import NotFound

    if "platform" in key.roles:
        return agency
    if agency is not None and agency != key.agency:
        raise NotFound(f"no agency {agency!r}")  # as for a missing one: ids cannot be probed
    return key.agency
