"""Every error the HTTP API answers, as RFC 9457 problem details, mapped in this one module.

Routes and the code below them raise domain errors (:class:`~edoc.errors.EdocError`,
:class:`~storage.errors.StorageError`) or the few API errors defined here; the
handlers installed by :func:`install` turn each into ``application/problem+json``::

    {"type": "https://edoc.dev/problems/invalid-data", "title": "Unprocessable Content",
     "status": 422, "detail": "The request is not valid: data.holder.name: Field required",
     "errors": [{"field": "data.holder.name", "message": "Field required"}]}

5xx answers never carry internals: the details go to the log, with a reference
the client can quote.
"""

from __future__ import annotations

import logging
import secrets
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from certs.errors import CertsError
from edoc.errors import DataInvalid, EdocError, FieldError
from signing.errors import SigningError, TimestampError
from storage.errors import StorageError

log = logging.getLogger("api.errors")

PROBLEM_TYPE_BASE = "https://edoc.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


# -- errors raised by the API layer itself -------------------------------------------------


class Unauthenticated(EdocError):
    """No API key, or one that is unknown or revoked."""

    kind = "unauthenticated"
    http_status = 401


class PermissionDenied(EdocError):
    """The API key is valid but lacks the role or agency this needs."""

    kind = "forbidden"
    http_status = 403


class PayloadTooLarge(EdocError):
    """The request body is larger than the configured ``max_upload_bytes``."""

    kind = "payload-too-large"
    http_status = 413


class UnsupportedMediaType(EdocError):
    """The body is not of a media type the endpoint reads."""

    kind = "unsupported-media-type"
    http_status = 415


class RateLimited(EdocError):
    """Too many requests from one client on a public endpoint."""

    kind = "rate-limited"
    http_status = 429

    def __init__(self, retry_after: int):
        super().__init__(
            f"too many requests from this client; retry in {retry_after} s"
        )
        self.retry_after = retry_after


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when a streamed body passes the limit.

    An ``HTTPException`` on purpose: FastAPI re-raises those while parsing a body
    (anything else becomes a generic 400), so the 413 reaches the handler below.
    """

    def __init__(self, limit: int, setting: str = "max_upload_bytes"):
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes "
                              f"(setting {setting})")
        self.limit = limit


# -- building problem documents -----------------------------------------------------------


def problem_body(
    status: int,
    kind: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON object of a problem document."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem(
    status: int,
    kind: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(
        problem_body(status, kind, detail, errors=errors, **extra),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _reference() -> str:
    return secrets.token_hex(6)


def _server_fault(request: Request, exc: BaseException, status: int, kind: str) -> JSONResponse:
    ref = _reference()
    log.error("%s %s failed [ref %s]: %s", request.method, request.url.path, ref,
              getattr(exc, "diagnostics", lambda: str(exc))(), exc_info=exc)
    if status == 503:
        detail = f"A service edoc depends on is unavailable; retry later (reference {ref})."
    else:
        detail = f"The server could not complete the request; the operator can find it in the log under reference {ref}."
    return problem(status, kind, detail, reference=ref)


def _field_errors(exc: EdocError) -> list[dict[str, str]] | None:
    if isinstance(exc, DataInvalid):
        return [{"field": e.field, "message": e.message} for e in exc.errors]
    if isinstance(exc, FieldError):
        return [{"field": exc.field, "message": exc.message}]
    return None


# -- handlers -------------------------------------------------------------------------------


async def _edoc_error(request: Request, exc: EdocError) -> JSONResponse:
    status = exc.http_status
    retry_after = getattr(exc, "retry_after", None)
    if status == 503 and retry_after:  # busy, not broken: say when to retry
        return problem(status, exc.kind, exc.diagnostics(), headers={"Retry-After": str(retry_after)})
    if status >= 500:
        return _server_fault(request, exc, status, exc.kind)
    headers = None
    if isinstance(exc, Unauthenticated):
        headers = {"WWW-Authenticate": 'Bearer realm="edoc"'}
    elif isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem(status, exc.kind, exc.diagnostics(), errors=_field_errors(exc), headers=headers)


async def _storage_error(request: Request, exc: StorageError) -> JSONResponse:
    if exc.http_status >= 500:
        return _server_fault(request, exc, exc.http_status, exc.kind)
    return problem(exc.http_status, exc.kind, str(exc))


async def _library_error(request: Request, exc: Exception) -> JSONResponse:
    # certs/signing errors reaching a route are server-side (keys, TSA, sealing);
    # an unreachable TSA is worth a retry (with the same Idempotency-Key)
    if isinstance(exc, TimestampError):
        return _server_fault(request, exc, 503, "tsa-unavailable")
    return _server_fault(request, exc, 500, "signing-failed")


def field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """A dotted field name from a pydantic ``loc``: ``("body", "data", "items", 0)`` → ``data.items.0``."""
    parts = list(loc)
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for err in exc.errors():
        field = field_of(err.get("loc", ()))
        message = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            field, message = "body", f"not valid JSON: {err.get('ctx', {}).get('error', message)}"
        errors.append({"field": field, "message": message})
    detail = "The request is not valid: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "invalid-request", detail, errors=errors)


_HTTP_KINDS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


async def _http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    detail = str(exc.detail) if exc.detail else HTTPStatus(status).phrase
    if status == 404 and detail == HTTPStatus(404).phrase:
        detail = f"There is no endpoint at {request.url.path}; the API is described at /docs."
    headers = dict(exc.headers or {})
    if status == 405:
        allowed = _allowed_methods(request) or [headers.get("Allow", "")]
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed on {request.url.path}; use {' or '.join(allowed)}"
    if status >= 500:
        return _server_fault(request, exc, status, "internal")
    return problem(status, _HTTP_KINDS.get(status, "http-error"), detail, headers=headers or None)


def _allowed_methods(request: Request) -> list[str]:
    # Starlette's Allow names only the first route on the path; a path may have several
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return _server_fault(request, exc, 500, "internal")


def install(app: FastAPI) -> None:
    """Install every handler on ``app``."""
    app.add_exception_handler(EdocError, _edoc_error)  # type: ignore[arg-type]
    app.add_exception_handler(StorageError, _storage_error)  # type: ignore[arg-type]
    app.add_exception_handler(CertsError, _library_error)
    app.add_exception_handler(SigningError, _library_error)
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_exception)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
