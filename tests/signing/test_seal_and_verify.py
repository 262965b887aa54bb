"""Sealing at each level and the verifier's verdicts on genuine and hostile files."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from edoc.verification import Verifier
from signing.seal import SealSettings
from signing.validate import TrustPolicy, verify_pdf

from .conftest import plain_pdf


def verify(home, data: bytes):
    return Verifier(policy=home.trust_policy()).verify(data, name="doc.pdf")


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-3072", "rsa-2048"])
def test_default_seal_is_certified_b_t_and_valid(make_home, key_type):
    home = make_home(key_type)
    report = verify(home, home.sealer().seal(plain_pdf()))
    assert report.verdict == "valid", report.reasons
    (sig,) = report.signatures
    assert sig.intact and sig.valid and sig.trusted
    assert sig.certification == "fill-forms"
    assert sig.timestamp is not None and sig.timestamp.trusted
    assert "Time-Stamping Authority" in sig.timestamp.tsa
    assert sig.coverage == "entire-file"
    assert sig.ades_indication == "TOTAL_PASSED"


def test_b_b_seal_has_no_timestamp(home, pdf):
    report = verify(home, home.sealer("B-B").seal(pdf))
    assert report.verdict == "valid"
    assert report.signatures[0].timestamp is None


def test_visible_stamp_seal_is_valid(home, pdf):
    sealed = home.sealer().seal(pdf, stamp_box=(0, 300, 60, 550, 120))
    assert verify(home, sealed).verdict == "valid"
    assert b"/Rect" in sealed


def test_blank_stamp_widget_draws_nothing_and_names_no_font(home, pdf):
    """Over a stamp the page already shows, the widget's appearance is empty (``q Q``)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    from signing.seal import Sealer

    sealer = Sealer(
        SealSettings(stamp_text=""), signer=home.seal_signer, timestamper=home.timestamper()
    )
    sealed = sealer.seal(pdf, stamp_box=(0, 300, 60, 550, 120))
    assert verify(home, sealed).verdict == "valid"
    (widget,) = [a.get_object() for a in PdfFileReader(BytesIO(sealed)).root["/Pages"]["/Kids"][0]["/Annots"]]
    assert widget["/FT"] == "/Sig"
    appearance = widget["/AP"]["/N"].get_object()
    assert appearance.data.strip() == b"q Q"
    assert "/Font" not in appearance.get("/Resources", {})
    assert b"/Courier" not in sealed


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="unknown PAdES level"):
        SealSettings(level="B-X")  # type: ignore[arg-type]


def test_report_serialises_to_json(home, sealed):
    report = verify(home, sealed)
    data = report.to_dict()
    assert data["verdict"] == "valid"
    assert data["signatures"][0]["timestamp"]["time"].endswith("+00:00")
    assert '"verdict": "valid"' in report.to_json()


# --- bad input: each is a verdict with a reason, never an exception ---------------


def test_not_a_pdf_is_invalid(home):
    report = verify(home, b"GIF89a this is an image")
    assert report.verdict == "invalid"
    assert "not a PDF" in report.reasons[0]


def test_empty_file_is_invalid(home):
    assert verify(home, b"").verdict == "invalid"


def test_truncated_pdf_is_invalid(home, sealed):
    report = verify(home, sealed[: len(sealed) // 2])
    assert report.verdict == "invalid"
    assert report.reasons


def test_unsigned_pdf_is_invalid(home, pdf):
    report = verify(home, pdf)
    assert report.verdict == "invalid"
    assert "no electronic seal" in report.reasons[0]


def _contents_span(data: bytes) -> tuple[int, int]:
    m = re.search(rb"/Contents\s*<([0-9a-fA-F]+)>", data)
    assert m
    return m.start(1), m.end(1)


def test_garbage_signature_container_is_invalid(home, sealed):
    start, end = _contents_span(sealed)
    garbage = (b"3082deadbeef" * ((end - start) // 12 + 1))[: end - start]
    report = verify(home, sealed[:start] + garbage + sealed[end:])
    assert report.verdict == "invalid"
    assert "damaged" in " ".join(report.reasons)


def test_empty_signature_container_is_invalid(home, sealed):
    start, end = _contents_span(sealed)
    report = verify(home, sealed[:start] + b"0" * (end - start) + sealed[end:])
    assert report.verdict == "invalid"


def test_manipulated_byte_range_is_invalid(home, sealed):
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", sealed)
    assert m
    a, b, c, d = (int(x) for x in m.groups())
    # Claim the signature covers less than it does: shift the second range forward.
    fake = f"/ByteRange [{a} {b} {c + 10} {d - 10}]".encode()
    original = m.group(0)
    fake = fake.ljust(len(original))
    report = verify(home, sealed.replace(original, fake, 1))
    assert report.verdict == "invalid"


def test_flipped_byte_in_signed_content_is_not_intact(home, sealed):
    i = sealed.index(b"Official document")
    tampered = sealed[:i] + b"Unofficial docume" + sealed[i + 17 :]
    report = verify(home, tampered)
    assert report.verdict == "invalid"
    assert report.signatures and not report.signatures[0].intact
    assert "changed after it was sealed" in " ".join(report.reasons)


def _incremental(sealed: bytes, change) -> bytes:
    w = IncrementalPdfFileWriter(BytesIO(sealed))
    change(w)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def test_new_page_content_after_sealing_is_invalid(home, sealed):
    def overlay(w):
        stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 500 Td (PAID) Tj ET")
        w.add_stream_to_page(0, w.add_object(stream))

    report = verify(home, _incremental(sealed, overlay))
    assert report.verdict == "invalid"
    assert "added or changed after" in " ".join(report.reasons)
    assert report.signatures[0].changes_permitted is False


def test_annotation_added_to_certified_document_is_invalid(home, sealed):
    def annotate(w):
        page_ref = w.root["/Pages"]["/Kids"][0]
        page = page_ref.get_object()
        annot = generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (72, 400, 300, 450)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("Grade: A"),
                generic.NameObject("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
            }
        )
        page[generic.NameObject("/Annots")] = generic.ArrayObject([w.add_object(annot)])
        w.update_container(page)

    report = verify(home, _incremental(sealed, annotate))
    assert report.verdict == "invalid"
    assert report.signatures[0].modifications in ("annotations", "other")


def test_signer_we_do_not_trust_is_indeterminate(make_home, pdf):
    ours = make_home("ecdsa-p256")
    stranger = make_home("rsa-3072")  # a different PKI altogether
    report = verify(ours, stranger.sealer().seal(pdf))
    assert report.verdict == "indeterminate"
    assert "not a trusted issuer" in " ".join(report.reasons)
    assert report.signatures[0].ades_indication.startswith("INDETERMINATE")


def test_empty_trust_store_trusts_nobody(home, sealed):
    report = verify_pdf(sealed, policy=TrustPolicy(trust_anchors=()))
    assert report.verdict == "indeterminate"


@pytest.mark.parametrize(
    "blob",
    [
        b"%PDF-1.7\n" + b"\x00" * 1000,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"%PDF-1.4\n" + b"1 0 obj [" * 5000 + b"\n%%EOF",
        b"%PDF-1.4\nxref\n0 99999999\ntrailer<</Size 5/Root 9 0 R>>\nstartxref\n9\n%%EOF",
    ],
    ids=["zeros", "self-referencing", "deep-nesting", "absurd-xref"],
)
def test_hostile_pdf_is_a_verdict_not_a_crash(home, blob):
    report = verify(home, blob)
    assert report.verdict == "invalid"
    assert report.reasons
