"""``/v1/verify``: public verification of an uploaded PDF, or of a document id.

Both are open to anyone, rate-limited per client. An upload is checked in memory
and dropped: it is never stored. Anything that is not a valid sealed PDF gets a
verdict (``invalid``), not an error.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from edoc.errors import NotFound
from signing.report import VerificationReport
from storage.audit import AuditEvent
from storage.errors import DocumentNotFound

from ..deps import RateLimit, StateDep
from ..errors import PayloadTooLarge, UnsupportedMediaType
from ..models import DOC_ID_PATTERN, DocumentStatusPublic, problems
from ..uploads import read_file_field

router = APIRouter(prefix="/v1/verify", tags=["verification"], dependencies=[RateLimit])

_DOC_ID = re.compile(DOC_ID_PATTERN)
_RAW_TYPES = ("application/pdf", "application/octet-stream")


_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "",
    openapi_extra=_UPLOAD_DOC,
    responses={200: {"description": "The verification report (JSON), whatever the verdict"},
               **problems(413, 415, 422, 429, 503)},
)
async def verify_upload(request: Request, state: StateDep) -> JSONResponse:
    """Verify a PDF sent as multipart field ``file`` or as a raw ``application/pdf`` body."""
    limit = state.settings.max_upload_bytes
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        data, name = await read_file_field(request, field="file", limit=limit)
    elif content_type in _RAW_TYPES:
        data, name = await request.body(), None
        if len(data) > limit:
            raise PayloadTooLarge(f"the file is larger than the limit of {limit} bytes (setting max_upload_bytes)")
    else:
        raise UnsupportedMediaType(
            f"send the PDF as multipart/form-data (field `file`) or with Content-Type: application/pdf, "
            f"not {content_type or 'no Content-Type'}"
        )
    # in a worker process under the budgets; dropped if the client goes away (issue 17)
    examined = await state.verify_pool.examine(data, name=name, cancelled=request.is_disconnected)
    del data
    report = await run_in_threadpool(state.verifier.judge, examined)
    report = _minimised(state, report)
    state.metrics.verifications.labels("upload", report.verdict).inc()
    return JSONResponse(report.to_dict())


@router.get("/{doc_id}", response_model=DocumentStatusPublic, responses=problems(404, 429))
async def verify_by_id(doc_id: str, state: StateDep) -> DocumentStatusPublic:
    """The registry's word on a document id: status, issuer, type, date and masked holder only."""
    if not _DOC_ID.fullmatch(doc_id):
        state.metrics.verifications.labels("id", "unknown").inc()
        raise NotFound("no document with this id is on record; check the id printed under the QR code")
    try:
        record = await state.read(state.registry.get, doc_id)
    except DocumentNotFound:
        state.metrics.verifications.labels("id", "unknown").inc()
        raise NotFound(
            "no document with this id is on record; check the id printed under the QR code"
        ) from None
    # a public lookup: worth a line in the trail, not a write transaction of its own
    state.lookups.submit(AuditEvent("document.verified", actor="public", agency=record.agency,
                                    subject=record.id, details={"status": record.status}))
    state.metrics.verifications.labels("id", record.status).inc()
    return DocumentStatusPublic(
        id=record.id,
        status=record.status,
        agency=record.agency,
        document_type=_document_type(state, record),
        issued_at=record.issued_at,
        holder=record.holder_masked,
        revoked_at=record.revoked_at,
    )


def _document_type(state, record) -> str:
    # The template's title, not the record's: a rendered title may carry the holder's name.
    try:
        return state.home.templates(record.agency).get(record.template).title_in(record.lang)
    except NotFound:
        return record.template


def _minimised(state, report: VerificationReport) -> VerificationReport:
    """The report with the registry's document type as the template's title (no personal data)."""
    status = report.registry
    if status is None or status.status in ("unknown", "not-on-record") or not status.document_id:
        return report
    try:
        record = state.registry.get(status.document_id)
    except DocumentNotFound:
        return report
    return dataclasses.replace(
        report, registry=dataclasses.replace(status, document_type=_document_type(state, record))
    )
