"""``/docs``: Swagger UI served from this service, so it works on a closed network.

FastAPI's own ``/docs`` loads Swagger UI from a public CDN; on an agency's
network without Internet access (and on a machine without any) the page stays
blank. Here the page and every file it loads come from this origin: the
Swagger UI distribution ships in the ``swagger-ui-bundle-v2`` package
(``swagger_ui_bundle.swagger_ui_path``), read once at start-up. The online
validator badge (a request to validator.swagger.io) is switched off.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

router = APIRouter(include_in_schema=False)

#: the files of the Swagger UI distribution the page loads
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
_PREFIX = "/docs/assets"


def _load() -> dict[str, tuple[bytes, str]]:
    root = Path(swagger_ui_path)
    files = {}
    for name in ASSETS:
        path = root / name
        if not path.is_file():  # a broken install: say what is missing, at start-up
            raise RuntimeError(f"Swagger UI file {path} is missing (package swagger-ui-bundle-v2)")
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or name.endswith(".js"):
            media_type = f"{'text/javascript' if name.endswith('.js') else media_type}; charset=utf-8"
        files[name] = (path.read_bytes(), media_type)
    return files


_FILES = _load()


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API documentation (OpenAPI from ``/openapi.json``)."""
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} – API",
        swagger_js_url=f"{root}{_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{root}{_PREFIX}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(_PREFIX + "/{name}")
async def swagger_asset(name: str) -> Response:
    """One file of the Swagger UI distribution."""
    found = _FILES.get(name)
    if found is None:
        return Response(status_code=404)
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
