"""Shared pieces for the template and renderer tests: an agency, its emblem, a render helper."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edoc.render import Agency, RenderedDocument, render
from edoc.templates import TemplateLibrary

REFERENCE = Path(__file__).parent / "reference"
EMBLEM = REFERENCE / "emblem.png"  # a made-up emblem, not any real agency's
ISSUED_AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
DOC_ID = "EDOC-2026-000123"
VERIFY_URL = "https://verify.example.go.th/d/EDOC-2026-000123"

AGENCY = Agency(
    name_th="สถาบันพัฒนาบุคลากรภาครัฐ",
    name_en="Civil Service Development Institute",
    emblem=EMBLEM,
    address_th="ถนนพิษณุโลก เขตดุสิต กรุงเทพมหานคร ๑๐๓๐๐",
    address_en="Phitsanulok Road, Dusit, Bangkok 10300",
)


@pytest.fixture(scope="session")
def library() -> TemplateLibrary:
    return TemplateLibrary.builtin()


def render_example(library: TemplateLibrary, name: str, lang: str, **overrides) -> RenderedDocument:
    """Render a built-in template's example in ``lang`` with the test agency."""
    template = library.get(name)
    kwargs = dict(
        doc_id=DOC_ID, verify_url=VERIFY_URL, agency=AGENCY, lang=lang, issued_at=ISSUED_AT
    )
    kwargs.update(overrides)
    data = overrides.pop("data", None) or template.examples[lang]
    kwargs.pop("data", None)
    return render(template, data, **kwargs)
