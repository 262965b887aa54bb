"""HTTP handlers of the public verification pages, and the few static files they use.

Routes (all HTML, none in the OpenAPI schema):

- ``GET  /verify/{doc_id}``  the registry's word on a document (what the QR code opens)
- ``POST /verify/{doc_id}``  check an uploaded file *is* that document, genuine and unaltered
- ``GET  /verify``           a page to check any sealed PDF
- ``POST /verify``           check an uploaded file
- ``GET  /static/{name}``    ``verify.css``, ``verify.js``, ``favicon.svg``

``?lang=en`` switches a page to English (Thai is the default). Uploads are read
into memory, verified and dropped; nothing is written anywhere.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool

from edoc.errors import EdocError, NotFound
from edoc.verifypool import VerifyBusy
from storage.registry import DocumentRecord

from ._text import STRINGS, keep_words, pick_lang
from ._upload import UploadTooLarge, read_upload
from ._views import Directory, Printed, file_result, status_panel

log = logging.getLogger(__name__)

__all__ = ["router", "SECURITY_HEADERS"]

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).resolve().parent

_env = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["keep_words"] = keep_words

#: Sent with every page and static file: only this origin's own files may load.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
#: Status and result pages change when a document is revoked and may name a holder.
_PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "Vary": "Accept-Encoding",
}
_GZIP_MIN = 1024


@dataclass(frozen=True)
class _Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    version: str


def _load_assets() -> dict[str, _Asset]:
    types = {
        "verify.css": "text/css; charset=utf-8",
        "verify.js": "text/javascript; charset=utf-8",
        "favicon.svg": "image/svg+xml",
    }
    assets = {}
    for name, media_type in types.items():
        body = (_HERE / "static" / name).read_bytes()
        version = hashlib.sha256(body).hexdigest()[:12]
        assets[name] = _Asset(body, gzip.compress(body, 9, mtime=0), media_type, version)
    return assets


_ASSETS = _load_assets()


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


# The GET pages are ``async def``: what they do is in memory or one registry read
# (``ServiceState.read``), cheaper than the thread hop a plain ``def`` costs.


@router.get("/static/{name}")
async def static_file(request: Request, name: str, v: str | None = None) -> Response:
    """A static file of the pages; cached for a year when asked for by its version."""
    asset = _ASSETS.get(name)
    if asset is None:
        return Response(status_code=404, headers=SECURITY_HEADERS)
    etag = f'"{asset.version}"'
    headers = {
        **SECURITY_HEADERS,
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "Cache-Control": (
            "public, max-age=31536000, immutable" if v == asset.version else "public, max-age=3600"
        ),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if _accepts_gzip(request):
        body, headers["Content-Encoding"] = asset.gzipped, "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


def _asset_url(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}/static/{name}?v={_ASSETS[name].version}"


def _megabytes(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{mb:.0f}" if mb >= 10 or mb == int(mb) else f"{mb:.1f}"


def _lookup(home, doc_id: str) -> DocumentRecord | None:
    try:
        return home.issuer().get(doc_id)
    except NotFound:
        return None


def _document_type(home, template: str, lang: str, agency: str | None = None) -> tuple[str, str | None] | None:
    """A template's title in ``lang`` if it has one, else in its own first language."""
    try:
        tpl = home.templates(agency).get(template)
    except NotFound:
        return None
    for candidate in (lang, "*", tpl.languages[0]):
        if candidate in tpl.title:
            return tpl.title[candidate], None if candidate == "*" else candidate
    return None


def _agency_names(home, code: str) -> tuple[str, str] | None:
    record = home.registry().agencies.find(code)
    return None if record is None else (record.name_th, record.name_en)


def _directory(home) -> Directory:
    s = home.settings
    return Directory(
        agency_id=s.agency_id,
        name_th=s.agency_name_th,
        name_en=s.agency_name_en,
        document_types=lambda template, lang: _document_type(home, template, lang),
        agency_names=lambda code: _agency_names(home, code),
        agency_document_types=lambda agency, template, lang: _document_type(home, template, lang, agency),
    )


def _agency_logo(request: Request, home, code: str | None) -> str | None:
    """The URL of the issuing agency's logo, when it has one."""
    if code is None:
        return None
    record = home.registry().agencies.find(code)
    if record is None or record.logo is None:
        return None
    root = request.scope.get("root_path", "")
    return f"{root}/agency/{quote(code, safe='')}/logo"


def _render(
    request: Request,
    *,
    lang: str,
    doc_id: str | None,
    record: DocumentRecord | None = None,
    printed=None,
    result=None,
    error: str | None = None,
    status_code: int = 200,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    home = request.app.state.edoc.home
    t = STRINGS[lang]
    directory = _directory(home)
    root = request.scope.get("root_path", "")
    limit = home.settings.max_upload_bytes

    def status_url(some_id: str) -> str:
        return f"{root}/verify/{quote(some_id, safe='')}?lang={lang}"

    status = None
    path = f"{root}/verify"
    action = path
    if doc_id is not None:
        status = status_panel(doc_id, record, lang, directory, printed)
        path = f"{root}/verify/{quote(doc_id, safe='')}"
        if record is not None:  # an unknown id has no file to compare with
            action = path
    title = (result.panel.headline if result else None) or (
        status.headline if status else t["check_title"]
    )
    other = "en" if lang == "th" else "th"
    html = _env.get_template("verify.html").render(
        t=t,
        lang=lang,
        other_lang=other,
        title=title,
        switch_url=f"{path}?lang={other}",
        form_action=f"{action}?lang={lang}",
        status=status,
        result=result,
        error=error,
        max_bytes=limit,
        size_hint=t["size_hint"].format(mb=_megabytes(limit)),
        too_large=t["too_large"].format(mb=_megabytes(limit)),
        # a document's page shows its own agency's name and logo, never another's
        agency_name=directory.agency_name(record.agency if record is not None else None, lang),
        agency_logo=_agency_logo(request, home, record.agency if record is not None else None),
        asset=lambda name: _asset_url(request, name),
        status_url=status_url,
    )
    body = html.encode()
    headers = {**_PAGE_HEADERS, "Content-Language": lang, **(extra_headers or {})}
    if len(body) >= _GZIP_MIN and _accepts_gzip(request):
        # Safe to compress: the pages carry no secret (no cookie, no token) to leak.
        body, headers["Content-Encoding"] = gzip.compress(body, 6), "gzip"
    return Response(body, status_code, headers=headers, media_type="text/html; charset=utf-8")


@router.get("/verify", response_class=HTMLResponse)
async def check_page(request: Request, lang: str | None = None) -> Response:
    """The page to check any sealed PDF."""
    return _render(request, lang=pick_lang(lang), doc_id=None)


@router.get("/verify/{doc_id}", response_class=HTMLResponse)
async def status_page(request: Request, doc_id: str, lang: str | None = None) -> Response:
    """The status of one document: valid, revoked, or not in the register (404)."""
    services = request.app.state.edoc
    record = await services.read(_lookup, services.home, doc_id)
    printed = await services.read(_printed, services.home, record) if record is not None else None
    return _render(
        request,
        lang=pick_lang(lang),
        doc_id=doc_id,
        record=record,
        printed=printed,
        status_code=200 if record is not None else 404,
    )


def _printed(home, record: DocumentRecord):
    """What the document prints (title, lines), from the data its seal covers; None if unknown."""
    from edoc.printed import document_data, printed_facts, printed_title

    try:
        template = home.templates().get(record.template)
        data = document_data(home.issuer().pdf(record))
    except Exception:  # noqa: BLE001 - the registry's word still stands without these extras
        log.info("printed details of %s unavailable", record.id, exc_info=True)
        return None
    if data is None:
        return None
    lang = record.lang
    return Printed(
        title=printed_title(template, data, lang, record.holder_masked),
        lines=tuple((f.label, f.text) for f in printed_facts(template, data, lang, record.holder_masked)),
    )


@router.post("/verify", response_class=HTMLResponse)
async def check_upload(request: Request, lang: str | None = None) -> Response:
    """Verify an uploaded file against the trust anchors and the registry."""
    return await _check(request, doc_id=None, lang=pick_lang(lang))


@router.post("/verify/{doc_id}", response_class=HTMLResponse)
async def check_upload_for(request: Request, doc_id: str, lang: str | None = None) -> Response:
    """Verify that an uploaded file is this document's genuine, unaltered file."""
    return await _check(request, doc_id=doc_id, lang=pick_lang(lang))


def _rate_limited(request: Request) -> int | None:
    """Seconds to wait when this client has checked too many files lately, else None."""
    limiter = getattr(request.app.state.edoc, "limiter", None)
    if limiter is None:
        return None
    try:
        limiter.check(request.client.host if request.client else "unknown")
    except EdocError as exc:
        if exc.http_status != 429:
            raise
        return int(getattr(exc, "retry_after", 60))
    return None


async def _check(request: Request, *, doc_id: str | None, lang: str) -> Response:
    services = request.app.state.edoc
    home = services.home
    t = STRINGS[lang]
    wait = _rate_limited(request)  # checking a file costs CPU; the same buckets as the API
    if wait is not None:
        return _render(
            request,
            lang=lang,
            doc_id=doc_id,
            record=await services.read(_lookup, home, doc_id) if doc_id else None,
            error=t["rate_limited"].format(seconds=wait),
            status_code=429,
            extra_headers={"Retry-After": str(wait)},
        )
    limit = home.settings.max_upload_bytes
    too_large = False
    upload = None
    try:
        upload = await read_upload(request, limit=limit)
    except UploadTooLarge:
        too_large = True
    record = None
    if doc_id is not None:
        record = await services.read(_lookup, home, doc_id)
    if too_large:
        error = t["too_large"].format(mb=_megabytes(limit))
        return _render(request, lang=lang, doc_id=doc_id, record=record, error=error,
                       status_code=413)
    if upload is None:
        return _render(request, lang=lang, doc_id=doc_id, record=record, error=t["no_file"],
                       status_code=400)
    data = upload.data
    try:  # in a worker process under the budgets; dropped if the client goes away (issue 17)
        examined = await services.verify_pool.examine(
            data, name=upload.filename, password=upload.password, cancelled=request.is_disconnected
        )
    except VerifyBusy as busy:
        return _render(request, lang=lang, doc_id=doc_id, record=record,
                       error=t["verify_busy"].format(seconds=busy.retry_after), status_code=503,
                       extra_headers={"Retry-After": str(busy.retry_after)})
    finally:
        del upload  # checked and dropped: the bytes are never written anywhere
    report = await run_in_threadpool(services.verifier.judge, examined, data)
    del data
    matched = None
    if report.registry is not None and report.registry.document_id:
        matched = record if report.registry.document_id == doc_id else await services.read(
            _lookup, home, report.registry.document_id
        )
    result = file_result(
        report, expected_id=doc_id, matched=matched, lang=lang, directory=_directory(home)
    )
    return _render(request, lang=lang, doc_id=doc_id, record=record, result=result)
