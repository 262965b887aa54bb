"""Render a template and its data to a PDF: Thai shaped and extractable, QR, data attached.

>>> from datetime import datetime, timezone
>>> from edoc.templates import TemplateLibrary
>>> cert = TemplateLibrary.builtin().get("certificate")
>>> doc = render(cert, cert.examples["th"], doc_id="EDOC-2026-000001",
...              verify_url="https://verify.example.go.th/d/EDOC-2026-000001",
...              agency=Agency(name_th="กรมตัวอย่าง", name_en="Department of Examples"),
...              issued_at=datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc))
>>> doc.page_count
1
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import thai
from ..errors import DataInvalid, FieldError
from ..templates import Template
from ..thai import mask_name, segment_words
from . import _encode, _fonts, _qr, _text
from ._blocks import Blocks, StampRecorder
from ._document import build_pdf, page_size
from ._fill import FillContext, fill, localized, lookup
from ._fonts import WEIGHTS, font_name

__all__ = ["DOCUMENT_ID_KEYWORD", "VERIFY_URL_KEYWORD", "Agency", "RenderedDocument", "clear_caches", "render", "warm_up"]

#: prefix of the document id in the PDF's /Keywords
DOCUMENT_ID_KEYWORD = "edoc-document-id:"
#: prefix of the document's verification URL (what its QR code encodes) in the /Keywords
VERIFY_URL_KEYWORD = "edoc-verify-url:"


@dataclass(frozen=True)
class Agency:
    """The issuing agency, as documents show it."""

    #: name in Thai, e.g. "กรมพัฒนาธุรกิจการค้า"
    name_th: str
    #: name in English
    name_en: str
    #: the agency's emblem (PNG or JPEG) for the template's ``emblem`` slot; None leaves it empty
    emblem: Path | None = None
    #: postal address in Thai, for letters
    address_th: str | None = None
    #: postal address in English
    address_en: str | None = None

    def name(self, lang: str) -> str:
        """The name in ``lang`` ("th" or "en")."""
        return self.name_th if lang == "th" else self.name_en

    def address(self, lang: str) -> str:
        """The address in ``lang``, falling back to the other language, or ""."""
        first, second = (
            (self.address_th, self.address_en)
            if lang == "th"
            else (self.address_en, self.address_th)
        )
        return first or second or ""


@dataclass(frozen=True)
class RenderedDocument:
    """A rendered, not yet sealed, document."""

    #: the PDF file
    pdf: bytes
    #: the document's title (also in the PDF's metadata)
    title: str
    #: the holder's name as the public registry may show it ("นางสาวปิยะนุช ศ***")
    holder_masked: str
    page_count: int
    #: where the visible seal stamp goes: (page index, x1, y1, x2, y2) in PDF points, or None
    stamp_box: tuple[int, float, float, float, float] | None
    #: the language the document was rendered in ("th" or "en")
    lang: str = "th"


def render(
    template: Template,
    data: dict[str, Any],
    *,
    doc_id: str,
    verify_url: str,
    agency: Agency,
    lang: str | None = None,
    issued_at: datetime,
    validate: bool = True,
) -> RenderedDocument:
    """Validate ``data`` against ``template`` and render the document.

    Raises :class:`~edoc.errors.DataInvalid` for bad data,
    :class:`~edoc.errors.TextOverflow` when a value does not fit its place and
    :class:`~edoc.errors.EmblemMissing` when the agency's emblem file is missing.
    The same arguments always give the same bytes.
    """
    if validate:  # callers that validated already (issuance does, before anything else) skip it
        template.validate(data)
    lang = (
        lang
        or (data.get("lang") if data.get("lang") in template.languages else None)
        or template.languages[0]
    )
    if lang not in template.languages:
        message = (
            f"template {template.name!r} renders {', '.join(template.languages)}, not {lang!r}"
        )
        raise DataInvalid([FieldError("lang", message)])
    ctx = FillContext(
        data,
        lang,
        {
            "doc_id": doc_id,
            "verify_url": verify_url,
            "agency": agency.name(lang),
            "agency_th": agency.name_th,
            "agency_en": agency.name_en,
            "agency_address": agency.address(lang),
            "issued_on": issued_at.date().isoformat(),
            "title": template.title_in(lang),
        },
    )
    layout = template.layout
    title_pattern = localized(layout.get("document_title"), lang) or template.title_in(lang)
    title = " ".join(fill(title_pattern, ctx).split())
    stamp = StampRecorder()
    page_height = page_size(layout["page"])[1]
    blocks = Blocks(
        list(layout["blocks"]),
        styles=layout.get("styles", {}),
        ctx=ctx,
        template_name=template.name,
        verify_url=verify_url,
        emblem=agency.emblem,
        page_height=page_height,
        stamp=stamp,
    )
    pdf, pages = build_pdf(
        layout=layout,
        blocks=blocks,
        data=data,
        title=title,
        author=agency.name(lang),
        subject=f"{template.title_in(lang)} {doc_id}",
        # how a verifier finds the registry entry of a file whose bytes it does not know
        # ... and, for a verifier elsewhere, where its issuing registry answers (edoc.remote_status)
        keywords=f"{DOCUMENT_ID_KEYWORD}{doc_id} {VERIFY_URL_KEYWORD}{verify_url}",
        lang=lang,
        issued_at=issued_at,
    )
    holder = lookup(ctx, template.holder_field)
    return RenderedDocument(
        pdf=pdf,
        title=title,
        holder_masked=mask_name(str(holder)) if holder else "",
        page_count=pages,
        stamp_box=stamp.box,
        lang=lang,
    )


def warm_up() -> None:
    """Load the fonts and the Thai word dictionary now (about a second) instead of in the first render."""
    for weight in WEIGHTS:
        font_name(weight)
    segment_words("ตรวจสอบ")


def clear_caches() -> None:
    """Forget what renders remember: shaped text, word breaks, text operators, font subsets, compressed streams, QR codes.

    The next render does all of it again, as stock ReportLab does for every
    document; ``bench/issuance.py`` measures its naive baseline that way.
    The fonts stay registered.
    """
    _encode.clear_caches()
    _fonts.clear_caches()
    _text.clear_caches()
    _qr.qr_matrix.cache_clear()
    thai.clear_caches()
