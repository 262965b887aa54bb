"""Helpers for the signing tests: a plain PDF to seal, and sealed documents."""

from __future__ import annotations

from io import BytesIO

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def plain_pdf(text: str = "Official document", pages: int = 1) -> bytes:
    """A small unsigned PDF."""
    buf = BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=0)
    for i in range(pages):
        c.drawString(72, 760, f"{text} - page {i + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture
def pdf() -> bytes:
    return plain_pdf()


@pytest.fixture
def sealed(home, pdf) -> bytes:
    """A document sealed at the default level (B-T) by the test home."""
    return home.sealer().seal(pdf)
