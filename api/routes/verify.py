"""``/v1/verify``: public verification of an uploaded PDF, or of a document id.

Both are open to anyone, rate-limited per client. An upload is checked in memory
and dropped: it is never stored. Anything that is not a valid sealed PDF gets a
verdict (``invalid``), not an error.
"""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from edoc.errors import NotFound
from edoc.intake import NoVerifiedData, summary_row, verified_data, write_summary
from signing import etsi
from signing.report import VerificationReport
from storage.audit import AuditEvent
from storage.errors import DocumentNotFound

from ..deps import RateLimit, StateDep
from ..errors import PayloadTooLarge, UnsupportedMediaType
from ..models import DOC_ID_PATTERN, DocumentStatusPublic, problems
from ._verify_forms import MAX_SUMMARY_FILES, read_files

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
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "password": {"type": "string", "description": "password of an encrypted PDF"},
                    },
                }
            },
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


async def _read_upload(request: Request, state, *, max_files: int = 1):
    limit = state.settings.max_upload_bytes
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await read_files(request, field="file", limit=limit, max_files=max_files)
    if content_type in _RAW_TYPES and max_files == 1:
        data = await request.body()
        if len(data) > limit:
            raise PayloadTooLarge(f"the file is larger than the limit of {limit} bytes (setting max_upload_bytes)")
        return [(data, None)], None
    raise UnsupportedMediaType(
        "send the PDF as multipart/form-data (field `file`)"
        + (" or with Content-Type: application/pdf" if max_files == 1 else "")
        + f", not {content_type or 'no Content-Type'}"
    )


async def _verified(
    request: Request, state, data: bytes, *, name: str | None, password: str | None
) -> VerificationReport:
    """One file verified in a worker process under the budgets, then judged by the registry.

    The work is dropped if the client goes away (issue 17); a full queue is a 503.
    """
    examined = await state.verify_pool.examine(
        data, name=name, password=password, cancelled=request.is_disconnected
    )
    report = await run_in_threadpool(state.verifier.judge, examined, data)
    report = _minimised(state, report)
    state.metrics.verifications.labels("upload", report.verdict).inc()
    return report


@router.post(
    "",
    openapi_extra=_UPLOAD_DOC,
    responses={200: {"description": "The verification report (JSON, docs/verify-report.md; "
                                    "or ETSI TS 119 102-2 XML with format=etsi), whatever the verdict",
                     "content": {"application/json": {}, "application/xml": {}}},
               **problems(413, 415, 422, 429, 503)},
)
async def verify_upload(
    request: Request,
    state: StateDep,
    format: Literal["json", "etsi"] = Query("json", description="json, or etsi for TS 119 102-2 XML"),
    include: Literal["data"] | None = Query(
        None, description="data: add the data attached inside the sealed revision (valid files only)"),
    x_pdf_password: str | None = Header(None, description="password of an encrypted PDF"),
) -> Response:
    """Verify a PDF sent as multipart field ``file`` or as a raw ``application/pdf`` body."""
    (upload,), password = await _read_upload(request, state)
    data, name = upload
    password = password or x_pdf_password
    report = await _verified(request, state, data, name=name, password=password)
    if format == "etsi":
        return Response(etsi.etsi_report(report), media_type="application/xml")
    body = report.to_dict()
    if include == "data":
        try:
            body["data"] = verified_data(report, data, password=password)
        except NoVerifiedData as exc:
            body["data"] = None
            body["data_withheld"] = str(exc)
    return JSONResponse(body)


@router.post(
    "/summary",
    responses={200: {"description": "One CSV row per file (verdict, agency, document id, status, "
                                    "data fields), safe to open in a spreadsheet",
                     "content": {"text/csv": {}}},
               **problems(413, 415, 422, 429, 503)},
)
async def verify_summary(request: Request, state: StateDep) -> Response:
    """Verify up to 20 PDFs (repeated multipart field ``file``) and answer one CSV."""
    uploads, password = await _read_upload(request, state, max_files=MAX_SUMMARY_FILES)
    rows = []
    for data, name in uploads:
        report = await _verified(request, state, data, name=name, password=password)
        rows.append(summary_row(report, data))
    out = io.StringIO()
    write_summary(rows, out)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="verify-summary.csv"'})


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
