"""``/healthz`` and ``/metrics``: for load balancers and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Response

from storage.errors import StorageError, StorageUnavailable

from ..deps import StateDep
from ..models import problems

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
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
def metrics(state: StateDep) -> Response:
    """Prometheus metrics of this process (all workers' in multiprocess mode)."""
    body, content_type = state.metrics.exposition()
    return Response(body, media_type=content_type)
