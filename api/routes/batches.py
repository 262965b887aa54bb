"""``/v1/batches``: issue a whole spreadsheet, follow it, fetch its results and documents.

Only the agency's issuers submit and cancel; its issuers and auditors read. Another
agency's batch answers 404 exactly like a missing one. The uploaded file is spooled
to a private temporary file, read a row at a time into the registry and deleted as
soon as it has been read (never logged); the rows' data is cleared as each row is
issued and when the batch ends. The JSON shapes are what a web console needs too
(paginated list, counts, rate, ETA).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from edoc.batches import BatchOptions, BatchService
from edoc.batches.results import csv_lines, jsonl_lines, pdf_entries, zip_stream
from edoc.batches.runtime import executor_for, service_for
from edoc.batches.service import batch_view
from edoc.errors import EdocError, NotFound

from ..deps import IssuerKey, ReaderKey, StateDep
from ..errors import PermissionDenied
from ..models import problems
from ..state import ServiceState

router = APIRouter(prefix="/v1/batches", tags=["batches"])

_BATCH_ID = re.compile(r"[a-z2-7]{16}")
_lock = threading.Lock()


class BatchView(BaseModel):
    """A batch: its state, counts per row state, rate and ETA."""

    id: str
    state: Literal["queued", "running", "done", "rejected", "cancelled"]
    template: str
    total: int
    queued: int
    issued: int
    failed: int
    invalid: int
    cancelled: int
    rate: float | None = Field(description="Documents per second lately (null before the first).")
    eta_seconds: float | None = Field(description="Seconds until the queued rows are issued.")
    source_name: str
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    webhook_state: str | None


class BatchPage(BaseModel):
    """One page of the agency's batches, newest first."""

    items: list[BatchView]
    next_after: str | None = Field(description="Pass as `after` for the next page; null at the end.")


class BatchProblem(BaseModel):
    row: int
    column: str
    en: str
    th: str


class BatchCheck(BaseModel):
    """A dry run: nothing was stored or issued."""

    total: int
    valid: int
    invalid: int
    problems: list[BatchProblem]


def batch_service(state: ServiceState, request: Request) -> BatchService:
    """The app's batch service; its executor starts with the first batch request."""
    app_state = request.app.state
    with _lock:
        service = getattr(app_state, "edoc_batches", None)
        if service is None:
            executor = executor_for(state.home, mp_context="spawn")
            service = service_for(state.home, executor)
            app_state.edoc_batches = service
            if executor.name == "embedded":
                service.resume()  # batches a stopped server left unfinished
    return service


def close_batches(app) -> None:
    """Stop the app's executor (its pool processes), if it started one."""
    service = getattr(app.state, "edoc_batches", None)
    if service is not None and service.executor is not None:
        service.executor.close()
        app.state.edoc_batches = None


def _lang(accept_language: str | None) -> str:
    return "en" if accept_language and accept_language.strip().lower().startswith("en") else "th"


def _own(service: BatchService, batch_id: str, agency: str):
    if not _BATCH_ID.fullmatch(batch_id):
        raise NotFound(f"no batch {batch_id}")
    return service.get(batch_id, agency=agency)


def _spool(upload: UploadFile, folder: Path) -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    suffix = Path(upload.filename or "").suffix.lower()
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=suffix if suffix in (".csv", ".xlsx", ".jsonl", ".ndjson") else "", dir=folder)
    with os.fdopen(fd, "wb") as fh:
        shutil.copyfileobj(upload.file, fh, 1024 * 1024)
    return Path(name)


@router.post("", status_code=201, response_model=BatchView,
             responses={200: {"model": BatchCheck, "description": "A dry run's report"},
                        **problems(401, 403, 404, 413, 422)})
async def submit_batch(
    request: Request,
    key: IssuerKey,
    state: StateDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-874), XLSX or JSONL")],
    template: Annotated[str, Form()],
    format: Annotated[Literal["csv", "xlsx", "jsonl"] | None, Form()] = None,
    encoding: Annotated[str | None, Form(max_length=32)] = None,
    key_column: Annotated[str | None, Form(max_length=200)] = None,
    lang: Annotated[str | None, Form(max_length=16)] = None,
    level: Annotated[Literal["B-B", "B-T", "B-LT", "B-LTA"] | None, Form()] = None,
    all_or_nothing: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
    webhook_url: Annotated[str | None, Form(max_length=2000, pattern=r"^https?://")] = None,
    webhook_secret: Annotated[str | None, Form(max_length=200)] = None,
):
    """Check a file and issue one document per good row (or, with ``dry_run``, only check it)."""
    issuer = state.issuer
    if key.agency != issuer.agency_id:
        raise PermissionDenied(f"this service issues for agency {issuer.agency_id!r}; "
                               f"key {key.id} belongs to {key.agency!r}")
    service = batch_service(state, request)
    options = BatchOptions(
        template=template, format=format, encoding=encoding, key_column=key_column or None,
        lang=lang, level=level, all_or_nothing=all_or_nothing, webhook_url=webhook_url,
        webhook_secret=webhook_secret,
    )
    name = (file.filename or "upload")[-200:]
    if format is None and not name.lower().endswith((".csv", ".xlsx", ".jsonl", ".ndjson")):
        raise EdocError("name the file .csv, .xlsx or .jsonl, or give the format field")
    path = await run_in_threadpool(_spool, file, state.home.path / "batch-uploads")
    try:
        if dry_run:
            report = await run_in_threadpool(service.check, path, options)
            return JSONResponse(report.as_dict(), status_code=200)
        batch = await run_in_threadpool(service.submit, path, options, source_name=name, actor=key.id)
    finally:
        path.unlink(missing_ok=True)  # personal data: gone once read
    return batch_view(service, batch)


@router.get("", response_model=BatchPage, responses=problems(401, 403, 404, 422))
def list_batches(
    request: Request, key: ReaderKey, state: StateDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str | None, Query(description="Last id of the previous page.")] = None,
) -> BatchPage:
    """The key's agency's batches, newest first."""
    service = batch_service(state, request)
    before = _own(service, after, key.agency).created_at if after else None
    items = service.batches.list_batches(agency=key.agency, limit=limit, before=before)
    return BatchPage(items=[BatchView(**batch_view(service, b)) for b in items],
                     next_after=items[-1].id if len(items) == limit else None)


@router.get("/{batch_id}", response_model=BatchView, responses=problems(401, 403, 404))
def get_batch(batch_id: str, request: Request, key: ReaderKey, state: StateDep) -> BatchView:
    """A batch's state, counts, rate and ETA."""
    service = batch_service(state, request)
    return BatchView(**batch_view(service, _own(service, batch_id, key.agency)))


@router.get("/{batch_id}/results", responses={
    200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
          "description": "row,key,document_id,number,verify_url,sha256,error"},
    **problems(401, 403, 404)})
def batch_results(
    batch_id: str, request: Request, key: ReaderKey, state: StateDep,
    format: Annotated[Literal["csv", "jsonl"], Query()] = "csv",
    accept_language: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Per row: the document (id, number, verify URL, SHA-256) or the error; streamed."""
    service = batch_service(state, request)
    _own(service, batch_id, key.agency)
    rows = service.results(batch_id, agency=key.agency, lang=_lang(accept_language))
    if format == "jsonl":
        return StreamingResponse(iterate_in_threadpool(jsonl_lines(rows)), media_type="application/x-ndjson",
                                 headers={"Cache-Control": "private, no-store"})
    return StreamingResponse(
        iterate_in_threadpool(csv_lines(rows)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}-results.csv"',
                 "Cache-Control": "private, no-store"},
    )


@router.get("/{batch_id}/documents.zip", responses={
    200: {"content": {"application/zip": {}}, "description": "Every issued PDF of the batch"},
    **problems(401, 403, 404)})
def batch_documents(batch_id: str, request: Request, key: ReaderKey, state: StateDep) -> StreamingResponse:
    """Every issued document of the batch in one ZIP, streamed as it is read."""
    service = batch_service(state, request)
    _own(service, batch_id, key.agency)
    state.registry.audit.append("batch.downloaded", actor=key.id, agency=key.agency, subject=batch_id,
                                details={})
    chunks = zip_stream(pdf_entries(service, state.issuer, batch_id, agency=key.agency))
    return StreamingResponse(
        iterate_in_threadpool(chunks), media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.zip"',
                 "Cache-Control": "private, no-store"},
    )


@router.post("/{batch_id}/cancel", response_model=BatchView, responses=problems(401, 403, 404))
def cancel_batch(batch_id: str, request: Request, key: IssuerKey, state: StateDep) -> BatchView:
    """Stop a batch: rows not yet issued are cancelled; issued ones stay issued."""
    service = batch_service(state, request)
    _own(service, batch_id, key.agency)
    return BatchView(**batch_view(service, service.cancel(batch_id, agency=key.agency)))
