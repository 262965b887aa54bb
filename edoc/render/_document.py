"""Assemble one PDF: pages, flow, boxed blocks, metadata and the attached data."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reportlab.lib.pagesizes import A4, A5, LETTER, landscape, portrait
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Spacer
from reportlab.platypus.doctemplate import LayoutError

from ..errors import TemplateInvalid, TextOverflow
from ._attach import attach_file, pdf_timestamp
from ._blocks import Blocks
from ._fonts import font_name
from ._text import TextFlowable

__all__ = ["build_pdf", "page_size"]

_SIZES = {"A4": A4, "A5": A5, "LETTER": LETTER}


class _Document(BaseDocTemplate):
    def __init__(self, buffer, *, issued_at: datetime, data_json: bytes, **kw):
        super().__init__(buffer, **kw)
        self._issued_at = issued_at
        self._data_json = data_json

    def beforeDocument(self):  # noqa: N802 - ReportLab's hook
        doc = self.canv._doc  # noqa: SLF001
        doc._timeStamp = pdf_timestamp(self._issued_at)  # noqa: SLF001 - dates from the input
        attach_file(
            self.canv,
            name="data.json",
            data=self._data_json,
            mime="application/json",
            description="The data this document was issued from",
            when=self._issued_at,
        )


def page_size(page: Mapping[str, Any]) -> tuple[float, float]:
    try:
        size = _SIZES[str(page.get("size", "A4")).upper()]
    except KeyError:
        raise TemplateInvalid(
            f"page size {page.get('size')!r} is not one of {', '.join(_SIZES)}"
        ) from None
    return landscape(size) if page.get("orientation") == "landscape" else portrait(size)


def build_pdf(
    *,
    layout: Mapping[str, Any],
    blocks: Blocks,
    data: Mapping[str, Any],
    title: str,
    author: str,
    subject: str,
    lang: str,
    issued_at: datetime,
    keywords: str = "",
) -> tuple[bytes, int]:
    """Render the document; returns the PDF bytes and the number of pages."""
    page = layout["page"]
    width, height = page_size(page)
    margins = {"top": 20, "right": 20, "bottom": 20, "left": 20, **page.get("margins_mm", {})}
    left, right = margins["left"] * mm, margins["right"] * mm
    top, bottom = margins["top"] * mm, margins["bottom"] * mm
    first_top = page.get("first_flow_top_mm", margins["top"]) * mm
    frame_width = width - left - right

    def on_page(canvas, doc):
        blocks.draw_page(canvas, canvas.getPageNumber())

    first = PageTemplate(
        id="first",
        frames=[
            Frame(left, bottom, frame_width, height - first_top - bottom, 0, 0, 0, 0, id="first")
        ],
        onPage=on_page,
        autoNextPageTemplate="later",
        pagesize=(width, height),
    )
    later = PageTemplate(
        id="later",
        frames=[Frame(left, bottom, frame_width, height - top - bottom, 0, 0, 0, 0, id="later")],
        onPage=on_page,
        pagesize=(width, height),
    )
    data_json = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    buffer = io.BytesIO()
    doc = _Document(
        buffer,
        issued_at=issued_at,
        data_json=data_json,
        pagesize=(width, height),
        pageTemplates=[first, later],
        leftMargin=left,
        rightMargin=right,
        topMargin=top,
        bottomMargin=bottom,
        title=title,
        author=author,
        subject=subject,
        keywords=keywords,
        creator="edoc",
        producer="edoc (ReportLab)",
        invariant=1,
        lang="th-TH" if lang == "th" else "en",
        displayDocTitle=1,
        initialFontName=font_name("regular"),  # otherwise every page references Helvetica
    )
    story = blocks.story(frame_width) or [Spacer(0, 0)]
    try:
        doc.build(story)
    except LayoutError as exc:
        culprit = next(
            (f for f in story if isinstance(f, TextFlowable) and f.field in str(exc)), None
        )
        field = culprit.field if culprit else "(document)"
        raise TextOverflow(
            field, "is too long to fit on a page; split it into several paragraphs"
        ) from exc
    return buffer.getvalue(), doc.page
