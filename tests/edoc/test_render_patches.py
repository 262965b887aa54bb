"""The ReportLab patches take effect in a real render, save the work they claim, and change no byte.

Installed at the session's start as every entry point has them (edoc.compat).
Counting calls (tests/patching.py) shows ReportLab really runs our replacements
and skips the work they remember; rendering with them taken out gives the very
same PDF (the per-function differential tests are test_encode.py and test_qr.py).
"""

from __future__ import annotations

import pytest
from reportlab.graphics.barcode import qrencoder
from reportlab.pdfbase import pdfdoc, ttfonts

from edoc import compat
from edoc.render import _encode, _fonts, _qr, clear_caches
from tests.edoc.conftest import render_example
from tests.patching import count_calls

RENDER_PATCHES = (_encode, _fonts, _qr)


@pytest.fixture
def without():
    """``without(*patches)`` takes patches out (caches cleared); all are back after the test."""

    def take_out(*patches) -> None:
        for patch in patches:
            patch.uninstall()
        clear_caches()

    yield take_out
    compat.install()
    clear_caches()
    assert compat.installed()


def _certificate(library, doc_id: str = "EDOC-2026-000123") -> bytes:
    return render_example(library, "certificate", "th", doc_id=doc_id).pdf


def test_without_the_patches_a_render_gives_the_same_bytes(library, without):
    patched = [_certificate(library), render_example(library, "letter", "en").pdf]
    without(*RENDER_PATCHES)
    assert not any(p.installed() for p in RENDER_PATCHES)
    assert [_certificate(library), render_example(library, "letter", "en").pdf] == patched


def test_short_strings_and_names_are_encoded_once(library, without):
    _certificate(library)  # warm
    watched = [_encode._ORIGINAL_ENCODE, _encode._ORIGINAL_NAME]
    patched, _ = count_calls(watched, lambda: _certificate(library, "EDOC-2026-000124"))
    without(_encode)
    _certificate(library)
    stock, _ = count_calls(watched, lambda: _certificate(library, "EDOC-2026-000124"))
    assert pdfdoc.pdfdocEnc is _encode._ORIGINAL_ENCODE
    # ~250 strings and ~150 names per certificate, encoded afresh by stock ReportLab
    assert stock[_encode._ORIGINAL_ENCODE] >= 100 and stock[_encode._ORIGINAL_NAME] >= 50, stock
    for function in watched:
        assert patched[function] * 5 <= stock[function], (patched, stock)


def test_reportlabs_tounicode_map_is_skipped_for_our_fonts_only(library, without):
    assert ttfonts.makeToUnicodeCMap is _fonts._make_to_unicode_cmap
    calls, _ = count_calls([_fonts._ORIGINAL_CMAP, _fonts._make_to_unicode_cmap],
                           lambda: _certificate(library))
    assert calls[_fonts._make_to_unicode_cmap] >= 1 and calls[_fonts._ORIGINAL_CMAP] == 0, calls
    assert "beginbfchar" in ttfonts.makeToUnicodeCMap("AAAAAA+Other", [0, 65])  # other fonts: ReportLab's

    without(_fonts)
    calls, _ = count_calls([_fonts._ORIGINAL_CMAP], lambda: _certificate(library))
    assert calls[_fonts._ORIGINAL_CMAP] >= 1, calls


def test_the_same_font_streams_are_compressed_once(library, without):
    _certificate(library)  # the font subsets and maps of this certificate, compressed once
    patched, _ = count_calls([_fonts._ORIGINAL_FLATE], lambda: _certificate(library))
    assert pdfdoc.PDFStreamFilterZCompress.encode is _fonts._flate_encode
    without(_fonts)
    _certificate(library)
    stock, _ = count_calls([_fonts._ORIGINAL_FLATE], lambda: _certificate(library))
    # the bytes are zlib's either way: test_without_the_patches_a_render_gives_the_same_bytes
    assert stock[_fonts._ORIGINAL_FLATE] > patched[_fonts._ORIGINAL_FLATE], (patched, stock)


def test_the_qr_encoder_divides_in_place_and_reuses_its_tables(without):
    value = "https://verify.example.go.th/d/EDOC-2026-000125"
    watched = [_qr._ORIGINAL_MOD, _qr._iterative_remainder, qrencoder.QRCode._dataPosIterator,
               _qr._ORIGINAL_POLYNOMIAL]
    _qr.qr_matrix.__wrapped__(value)  # warm: the polynomial and the version's positions remembered
    patched, ours = count_calls(watched, lambda: _qr.qr_matrix.__wrapped__(value))
    assert patched[_qr._iterative_remainder] >= 1, patched
    assert patched[_qr._ORIGINAL_MOD] == patched[qrencoder.QRCode._dataPosIterator] == 0, patched
    assert patched[_qr._ORIGINAL_POLYNOMIAL] == 0, patched

    without(_qr)
    stock, theirs = count_calls(watched, lambda: _qr.qr_matrix.__wrapped__(value))
    assert stock[_qr._iterative_remainder] == 0
    # (a generator's every step counts as a call)
    assert stock[_qr._ORIGINAL_MOD] >= 10 and stock[qrencoder.QRCode._dataPosIterator] >= 1, stock
    assert stock[_qr._ORIGINAL_POLYNOMIAL] >= 1, stock
    assert ours == theirs
