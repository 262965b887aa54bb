"""Reading the one file of an upload form into memory, never onto disk, within a size limit.

Starlette's form parser spools files over 1 MB to a temporary file; the page
promises that uploads are never stored, so this parser keeps the whole file in
memory and stops reading the request as soon as it passes the limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

#: room for the multipart boundaries, part headers and the small form fields
FORM_OVERHEAD = 16 * 1024


class UploadTooLarge(Exception):
    """The request carries more than the configured upload limit."""


@dataclass(frozen=True)
class Upload:
    """An uploaded file, held in memory only."""

    filename: str | None
    data: bytes
    password: str | None = None
    """The form's ``password`` field, for an encrypted PDF (never stored)."""


class _InMemoryParser(MultiPartParser):
    def __init__(self, request: Request, stream, *, spool_max_size: int):
        super().__init__(request.headers, stream, max_files=1, max_fields=8)
        # SpooledTemporaryFile rolls over to disk only beyond max_size, which the
        # capped stream never lets the body reach.
        self.spool_max_size = spool_max_size


async def _capped(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise UploadTooLarge
        yield chunk


async def read_upload(request: Request, *, limit: int, field: str = "file") -> Upload | None:
    """The file in form field ``field``; None when the form has no file or cannot be read.

    Raises :class:`UploadTooLarge` when the file (or the whole request) is over ``limit``.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise UploadTooLarge  # refuse before reading a byte of it
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    body_limit = limit + FORM_OVERHEAD
    parser = _InMemoryParser(
        request, _capped(request.stream(), body_limit), spool_max_size=body_limit + 1
    )
    try:
        form = await parser.parse()
    except MultiPartException:
        return None
    except HTTPException as exc:  # an outer body limit (the app's middleware) stopped the stream
        if exc.status_code == 413:
            raise UploadTooLarge from exc
        raise
    upload = form.get(field)
    try:
        if not isinstance(upload, UploadFile) or (not upload.filename and not upload.size):
            return None
        data = await upload.read()
        password = form.get("password")
    finally:
        await form.close()
    if len(data) > limit:
        raise UploadTooLarge
    password = password if isinstance(password, str) and password else None
    return Upload(filename=upload.filename, data=data, password=password)
