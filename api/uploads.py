"""Reading an uploaded file into memory only, within a limit: never onto disk.

Starlette's form parser rolls files over 1 MB into a temporary file; an upload
to verify is personal data that edoc promises not to keep, so this parser holds
it in memory (the body limit middleware bounds how much that can be).
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from edoc.errors import DataInvalid, FieldError

from .errors import PayloadTooLarge
from .limits import MULTIPART_SLACK


class _InMemoryParser(MultiPartParser):
    def __init__(self, request: Request, *, max_size: int):
        super().__init__(request.headers, request.stream(), max_files=1, max_fields=4)
        self.spool_max_size = max_size + 1  # the spool never rolls over to a file


async def read_file_field(request: Request, *, field: str, limit: int) -> tuple[bytes, str | None]:
    """The bytes and file name of multipart field ``field``; 413 over ``limit``, 422 when absent."""
    try:
        form = await _InMemoryParser(request, max_size=limit + MULTIPART_SLACK).parse()
    except MultiPartException as exc:
        raise DataInvalid([FieldError(field, f"the multipart body cannot be read: {exc.message}")]) from exc
    try:
        upload = form.get(field)
        if not isinstance(upload, UploadFile):
            raise DataInvalid([FieldError(field, f"upload the PDF as the multipart file field `{field}`")])
        data = await upload.read(limit + 1)  # one byte more than allowed tells it is too large
        name = upload.filename
    finally:
        await form.close()
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than the limit of {limit} bytes (setting max_upload_bytes)")
    return data, name
