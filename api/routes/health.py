"""``/healthz`` and ``/metrics``: for load balancers and Prometheus."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from edoc.errors import NotFound
from storage.errors import StorageError, StorageUnavailable

from ..deps import OptionalKey, StateDep
from ..errors import PermissionDenied, Unauthenticated
from ..models import problems

#: roles whose keys may read /metrics when ``metrics_access`` is "key"
METRICS_ROLES = frozenset({"metrics", "admin"})


async def metrics_allowed(state: StateDep, key: OptionalKey) -> None:
    """Apply the setting ``metrics_access``: "key" (default), "public" or "off"."""
    access = state.settings.metrics_access
    if access == "public":
        return
    if access == "off":
        raise NotFound("metrics are switched off here (setting metrics_access)")
    if key is None:
        raise Unauthenticated("/metrics needs an API key with the role metrics or admin "
                              "(setting metrics_access)")
    if not key.roles & METRICS_ROLES:
        raise PermissionDenied(f"/metrics needs the role metrics or admin; key {key.id} has "
                               + ", ".join(sorted(key.roles)))

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses=problems(503))
def healthz(state: StateDep) -> dict[str, object]:
    """Alive and able to reach the registry."""
    try:
        state.registry.audit.head()
    except StorageError:
        raise
    except Exception as exc:  # a driver error the storage layer did not name
        raise StorageUnavailable("the registry database cannot be reached") from exc
    return {"status": "ok", "agency": state.settings.agency_id, "tsa": state.home.tsa is not None}


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
                       **problems(401, 403, 404)})
def metrics(state: StateDep, _allowed: Annotated[None, Depends(metrics_allowed)]) -> Response:
    """Prometheus metrics of this process (all workers' in multiprocess mode)."""
    body, content_type = state.metrics.exposition()
    return Response(body, media_type=content_type)
