"""Unsigned incremental updates appended to a sealed document, built the way an attacker would.

Each one leaves the seal intact (pyHanko rightly accepts a changed document
information dictionary as harmless) and changes or removes what unsigned
metadata says about the document (issue 17, finding 1).
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def _update(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _info_edit(edit: Callable[[generic.DictionaryObject], None]) -> Callable[[bytes], bytes]:
    def apply(pdf: bytes) -> bytes:
        def change(writer: IncrementalPdfFileWriter) -> None:
            info_ref = writer.trailer.raw_get("/Info")
            info = info_ref.get_object()
            edit(info)
            writer.update_container(info)

        return _update(pdf, change)

    return apply


def remove_keywords(pdf: bytes) -> bytes:
    """The document id the renderer wrote into ``/Keywords``, gone."""
    return _info_edit(lambda info: info.pop("/Keywords", None))(pdf)


def other_keywords(pdf: bytes) -> bytes:
    """``/Keywords`` set to some other text."""
    return _info_edit(lambda info: info.__setitem__("/Keywords", generic.pdf_string("nothing to see")))(pdf)


def new_title(pdf: bytes) -> bytes:
    """Only ``/Title`` changed."""
    return _info_edit(lambda info: info.__setitem__("/Title", generic.pdf_string("A new title")))(pdf)


def keywords_of(doc_id: str) -> Callable[[bytes], bytes]:
    """``/Keywords`` pointing at another document's id."""
    from edoc.render import DOCUMENT_ID_KEYWORD

    return _info_edit(
        lambda info: info.__setitem__("/Keywords", generic.pdf_string(f"{DOCUMENT_ID_KEYWORD}{doc_id}"))
    )


def new_info_object(pdf: bytes) -> bytes:
    """A brand-new ``/Info`` dictionary written into the trailer of the update."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        info = generic.DictionaryObject({
            generic.pdf_name("/Title"): generic.pdf_string("Replaced"),
            generic.pdf_name("/Producer"): generic.pdf_string("someone else"),
        })
        writer.trailer["/Info"] = writer.add_object(info)

    return _update(pdf, change)


UPDATES: dict[str, Callable[[bytes], bytes]] = {
    "remove-keywords": remove_keywords,
    "other-keywords": other_keywords,
    "new-title": new_title,
    "new-info-object": new_info_object,
}
