"""Reading the uploads of ``/v1/verify``: files and an optional PDF password, in memory only."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from edoc.errors import DataInvalid, FieldError

from ..errors import PayloadTooLarge
from ..limits import MULTIPART_SLACK

#: Files one summary request may carry.
MAX_SUMMARY_FILES = 20


class _InMemoryParser(MultiPartParser):
    def __init__(self, request: Request, *, max_size: int, max_files: int):
        super().__init__(request.headers, request.stream(), max_files=max_files, max_fields=4)
        self.spool_max_size = max_size + 1  # the spool never rolls over to a file


async def read_files(
    request: Request, *, field: str, limit: int, max_files: int = 1
) -> tuple[list[tuple[bytes, str | None]], str | None]:
    """([(bytes, file name)] of field ``field``, the ``password`` field or None).

    413 when one file (or all together) is over ``limit``, 422 when there is none.
    """
    try:
        form = await _InMemoryParser(
            request, max_size=limit * max_files + MULTIPART_SLACK, max_files=max_files
        ).parse()
    except MultiPartException as exc:
        raise DataInvalid([FieldError(field, f"the multipart body cannot be read: {exc.message}")]) from exc
    files: list[tuple[bytes, str | None]] = []
    try:
        for upload in form.getlist(field):
            if not isinstance(upload, UploadFile):
                continue
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise PayloadTooLarge(
                    f"a file is larger than the limit of {limit} bytes (setting max_upload_bytes)"
                )
            files.append((data, upload.filename))
        password = form.get("password")
    finally:
        await form.close()
    if not files:
        raise DataInvalid([FieldError(field, f"upload the PDF as the multipart file field `{field}`")])
    return files, password if isinstance(password, str) and password else None
