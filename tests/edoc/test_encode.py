"""The remembered ReportLab encoders give what ReportLab's own give."""

from __future__ import annotations

import pytest
from reportlab.pdfbase import pdfdoc

import edoc.render  # noqa: F401 - encoders memoised by compat.install() (tests/conftest.py)

STRINGS = [
    "",
    "Type",
    "FontDescriptor",
    "F1+0",
    "AAAAAA+Sarabun-Bold",
    "a b(c)d<e>f[g]h{i}j#k%l/m",
    "\x00\x1f\x7f",
    "ก ข",
    "é",
    "0.75",
    "x" * 63,
    "y" * 64,
    "z" * 5000,
    "q 1 0 0 1 72 720 cm BT /F1+0 16 Tf (Hello \\(x\\)) Tj ET Q\n" * 200,
    "long and ascii until the very end" * 10 + "\x1b",
    "long with a Thai letter in it " * 5 + "ก",
    "\x18" * 100,
]


@pytest.mark.parametrize("text", STRINGS, ids=range(len(STRINGS)))
def test_encoders_match_reportlabs(text):
    for memoised in (pdfdoc.pdfdocEnc, pdfdoc.PDFName):
        original = memoised.original
        try:
            expected = original(text)
        except Exception as exc:  # noqa: BLE001 - whatever ReportLab raises, we must raise too
            with pytest.raises(type(exc)):
                memoised(text)
            with pytest.raises(type(exc)):
                memoised(text)  # and again, once it could have been remembered
            continue
        assert memoised(text) == expected
        assert memoised(text) == expected


def test_bytes_and_other_arguments_pass_through():
    assert pdfdoc.pdfdocEnc(b"\xff raw") == b"\xff raw"
    assert pdfdoc.PDFName("a~b", hi="}") == pdfdoc.PDFName.original("a~b", hi="}") == "/a#7eb"
