"""``/v1/documents``: issuance, metadata, download and revocation for the issuing agency.

Every lookup is scoped to the key's agency, and another agency's id is answered
exactly like a missing one (404), so ids cannot be probed with a key.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import RedirectResponse, StreamingResponse

from edoc.errors import DataInvalid, FieldError, NotFound
from storage.registry import ApiKey, DocumentRecord

from ..deps import IssuerKey, OptionalKey, ReaderKey, StateDep, client_address
from ..errors import PermissionDenied, Unauthenticated
from ..holder_refusal import HolderLinkRefused, holder_refusal
from ..models import (
    DOC_ID_PATTERN,
    IDEMPOTENCY_KEY_PATTERN,
    DocumentCreate,
    DocumentIssued,
    DocumentPage,
    DocumentPublic,
    RevocationCreate,
    problems,
)
from ..state import ServiceState

#: PDFs larger than this are streamed in chunks instead of read whole
STREAM_ABOVE = 8 * 1024 * 1024
#: how long a presigned download URL stays valid
PRESIGNED_FOR = timedelta(minutes=5)

router = APIRouter(prefix="/v1/documents", tags=["documents"])

_DOC_ID = re.compile(DOC_ID_PATTERN)

def document_public(state: ServiceState, record: DocumentRecord) -> DocumentPublic:
    """The API view of a registry record."""
    return DocumentPublic(
        id=record.id,
        agency=record.agency,
        template=record.template,
        title=record.title,
        lang=record.lang,
        level=record.level,
        sha256=record.sha256,
        size=record.size,
        status=record.status,
        issued_at=record.issued_at,
        revoked_at=record.revoked_at,
        revocation_reason=record.revocation_reason,
        revocation_category=record.revocation_category,  # type: ignore[arg-type]
        holder_masked=record.holder_masked,
        download_url=f"{state.settings.public_base_url}/v1/documents/{record.id}/pdf",
        verify_url=state.issuer.verify_url(record.id),
    )


def _in_data(field: str) -> str:
    # template errors name paths inside `data`; "@..." are the template's own fields
    if field.startswith("@"):
        return field
    return "data" if field == "(document)" else f"data.{field}"


@router.post(
    "",
    status_code=201,
    response_model=DocumentIssued,
    responses={200: {"model": DocumentIssued, "description": "An idempotent retry: the document "
                     "issued before with this Idempotency-Key"}, **problems(401, 403, 404, 409, 413, 422)},
)
async def issue_document(
    body: DocumentCreate,
    key: IssuerKey,
    state: StateDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
               description="Retrying with the same key returns the same document (200) and never "
                           "issues twice; reusing it for different data is a 409."),
    ] = None,
) -> DocumentIssued:
    """Render, seal, timestamp, store and register a document: 201, or 200 for a retry."""
    # the key's own agency: its seal, templates and branding (404 for an unknown agency)
    issuer = await run_in_threadpool(state.home.issuer, key.agency)
    template = state.home.templates(key.agency).get(body.template)  # 404 listing the available ones
    if body.lang is not None and body.lang not in template.languages:
        # checked here so that every error from issue() below is about `data`
        raise DataInvalid([FieldError(
            "lang", f"template {template.name!r} renders {', '.join(template.languages)}, not {body.lang!r}")])
    try:
        doc = await state.cpu_slots.run(
            issuer.issue, body.template, body.data, lang=body.lang, level=body.level,
            idempotency_key=idempotency_key, actor=key.id, idempotency_scope=key.id,
        )
    except DataInvalid as exc:
        raise DataInvalid([FieldError(_in_data(e.field), e.message) for e in exc.errors]) from exc
    except FieldError as exc:
        raise type(exc)(_in_data(exc.field), exc.message) from exc
    public = document_public(state, doc.record)
    response.headers["Location"] = f"/v1/documents/{doc.id}"
    if doc.created:
        state.metrics.issued.labels(doc.record.template, doc.record.level).inc()
    else:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return DocumentIssued(
        **public.model_dump(),
        holder_token=doc.holder_token,
        holder_download_url=f"{public.download_url}?token={doc.holder_token}",
    )


@router.get("", response_model=DocumentPage, responses=problems(401, 403, 404, 422))
def list_documents(
    key: ReaderKey,
    state: StateDep,
    status: Literal["issued", "revoked"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(description="Last id of the previous page.")] = None,
) -> DocumentPage:
    """The key's agency's documents, newest first."""
    if after is not None:
        state.issuer.get(after, agency=key.agency)  # 404 unless it is one of ours
    records = state.registry.list_documents(agency=key.agency, status=status, limit=limit, after=after)
    return DocumentPage(
        items=[document_public(state, r) for r in records],
        next_after=records[-1].id if len(records) == limit else None,
    )


@router.get("/{doc_id}", response_model=DocumentPublic, responses=problems(401, 403, 404))
def get_document(doc_id: str, key: ReaderKey, state: StateDep) -> DocumentPublic:
    """A document's metadata (issuer or auditor of its agency)."""
    return document_public(state, _find(state, doc_id, key.agency))


@router.get(
    "/{doc_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The signed PDF"},
               **problems(401, 403, 404, 410, 422, 429)},
)
async def download_pdf(
    request: Request,
    doc_id: str,
    key: OptionalKey,
    state: StateDep,
    token: Annotated[str | None, Query(max_length=128,
                                       description="The holder's token from the issuance answer "
                                                   "(expires; refused once the document is revoked).")] = None,
    redirect: Annotated[bool, Query(description="Answer 307 to a short-lived direct URL "
                                                "where the object store offers one (S3).")] = False,
) -> Response:
    """The signed PDF: for the agency's issuers and auditors, or the holder with ``?token=``."""
    if token is not None:
        # unauthenticated: rate-limited like every public endpoint, so tokens cannot be guessed
        state.limiter.check(client_address(request))
        record, actor, via = await run_in_threadpool(_holder_record, state, doc_id, token)
        if record.status == "revoked" or isinstance(actor, HolderLinkRefused):
            # revoked says more than expired: it is why no new link will help
            refusal = HolderLinkRefused("revoked" if record.status == "revoked" else "expired")
            return holder_refusal(request, refusal)
    elif key is not None:
        _reader(key)
        record = await run_in_threadpool(_find, state, doc_id, key.agency)
        actor, via = key.id, "api-key"
    else:
        raise Unauthenticated(
            "downloading a document needs an API key of its agency or the holder's ?token="
        )
    async def audited(response: Response) -> Response:
        await run_in_threadpool(
            state.registry.audit.append, "document.downloaded", actor=actor, agency=record.agency,
            subject=record.id, details={"via": via, "sha256": record.sha256},
        )
        return response

    headers = {
        "Content-Disposition": f'attachment; filename="{record.id}.pdf"',
        "ETag": f'"{record.sha256}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if redirect:
        url = await run_in_threadpool(state.issuer.pdf_url, record, expires=PRESIGNED_FOR)
        if url is not None:
            return await audited(
                RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
            )
    if record.size > STREAM_ABOVE:
        # Large files go out in chunks; the store checks the digest as it reads, and a
        # mismatch aborts the transfer rather than finishing a corrupted file.
        return await audited(
            StreamingResponse(
                iterate_in_threadpool(state.issuer.pdf_stream(record)),
                media_type="application/pdf",
                headers={**headers, "Content-Length": str(record.size)},
            )
        )
    pdf = await run_in_threadpool(state.issuer.pdf, record)
    return await audited(Response(pdf, media_type="application/pdf", headers=headers))


@router.post("/{doc_id}/revoke", response_model=DocumentPublic, responses=problems(401, 403, 404, 422))
def revoke_document(doc_id: str, body: RevocationCreate, key: IssuerKey, state: StateDep) -> DocumentPublic:
    """Revoke a document of the key's agency; revoking again keeps the first reason."""
    record = _find(state, doc_id, key.agency)
    if record.status != "revoked":
        record = state.issuer.revoke(doc_id, reason=body.reason, actor=key.id, agency=key.agency,
                                     category=body.category)
        state.metrics.revoked.inc()
    return document_public(state, record)


# -- helpers ------------------------------------------------------------------------------


def _find(state: ServiceState, doc_id: str, agency: str) -> DocumentRecord:
    if not _DOC_ID.fullmatch(doc_id):
        raise NotFound(f"no document {doc_id}")
    return state.issuer.get(doc_id, agency=agency)


def _reader(key: ApiKey) -> None:
    if not key.roles & {"issuer", "auditor"}:
        raise PermissionDenied(
            f"downloading needs an API key with the role issuer or auditor; key {key.id} has "
            + ", ".join(sorted(key.roles))
        )


def _holder_record(
    state: ServiceState, doc_id: str, token: str
) -> tuple[DocumentRecord, str | HolderLinkRefused, str]:
    # a wrong token gets the answer a missing document gets: nothing to learn from it
    try:
        record = state.issuer.get(doc_id) if _DOC_ID.fullmatch(doc_id) else None
    except NotFound:
        record = None
    issued_at = record.issued_at if record is not None else None
    verdict = state.issuer.holder_token_state(doc_id, token, issued_at=issued_at)
    if record is None or verdict == "wrong":
        raise NotFound(f"no document {doc_id} for this token")
    if verdict == "expired":
        return record, HolderLinkRefused("expired"), "holder-link"
    return record, "holder", "holder-link"

