"""Public pages: what a citizen sees after scanning a document's QR code, and the landing page.

Server-rendered HTML, Thai by default (``?lang=en`` for English), light enough
for a cheap phone on a slow network and usable without JavaScript. The app
puts its services on ``app.state.edoc`` (``.home``, ``.verifier``, ``.verify_pool``,
``.read``; see api/state.py) and includes :data:`router`, which also serves the pages'
files under ``/static/``::

    app.state.edoc = ServiceState(home=home, verifier=Verifier.for_home(home), ...)
    app.include_router(api.pages.router)
"""

from fastapi import APIRouter

from . import landing, routes
from .routes import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)
router.include_router(routes.router)
router.include_router(landing.router)

__all__ = ["SECURITY_HEADERS", "router"]
