"""The pyHanko and asn1crypto patches take effect where edoc needs them, and change no answer.

Each test runs a real seal or verification with the patch installed (as every
entry point has it, edoc.compat.install()) and without it, and counts which
functions ran (tests/patching.py): it fails if the library stops calling our
replacement, or if the replacement stops saving the work it was written to save.
The differential tests against the libraries' own functions are next to each
patch's other tests (test_pdfread.py, test_names.py, test_keys.py).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from io import BytesIO

import pytest
from asn1crypto import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from edoc import compat
from signing import _names, _pdfread, _signer_overrides
from signing._aio import run_sync
from signing.validate import verify_pdf
from tests.patching import count_calls


@pytest.fixture
def without():
    """``without(patch)`` takes one patch out for the rest of the test; all are back after it."""
    yield lambda patch: patch.uninstall()
    compat.install()
    assert compat.installed()


def _verify(home, sealed):
    report = verify_pdf(sealed, policy=home.trust_policy())
    assert report.verdict == "valid", report.reasons
    return report


def test_pyhanko_reads_strings_with_our_readers(home, sealed, without):
    ours = (_pdfread.read_hex_string_from_stream, _pdfread.read_string_from_stream)
    theirs = (_pdfread._pyhanko_reader, _pdfread._pyhanko_literal_reader)
    assert generic.read_hex_string_from_stream is ours[0] and _pdfread.installed()
    calls, _ = count_calls([*ours, *theirs], lambda: _verify(home, sealed))
    assert calls[ours[0]] >= 1 and calls[ours[1]] >= 1, calls  # the /Contents, the metadata
    assert calls[theirs[0]] == 0, calls  # the seal's 25,000 hex digits never byte by byte

    without(_pdfread)
    calls, _ = count_calls([*ours, *theirs], lambda: _verify(home, sealed))
    assert calls[ours[0]] == calls[ours[1]] == 0 and calls[theirs[0]] >= 1, calls


def test_a_verification_prepares_each_name_string_once_not_per_comparison(home, sealed, without):
    prep = _names._original_prep
    _verify(home, sealed)  # what one verification leaves remembered
    patched, _ = count_calls([prep, _names._name_eq], lambda: _verify(home, sealed))
    assert patched[_names._name_eq] >= 1, patched

    without(_names)
    stock, _ = count_calls([prep, _names._name_eq], lambda: _verify(home, sealed))
    assert stock[_names._name_eq] == 0
    # asn1crypto prepares every attribute of every name it compares, every time
    assert stock[prep] >= 20 and patched[prep] * 10 <= stock[prep], (patched, stock)


def test_names_compare_as_asn1crypto_does_with_and_without_the_shortcuts(without):
    a = x509.Name.build({"common_name": "Example  CA", "country_name": "TH"})
    b = x509.Name.build({"common_name": "example ca", "country_name": "TH"}, use_printable=False)
    c = x509.Name.build({"common_name": "Other CA", "country_name": "TH"})
    patched = (a == b, a == c, a.hashable == b.hashable)
    without(_names)
    assert (a == b, a == c, a.hashable == b.hashable) == patched == (True, False, True)


def test_the_signer_packages_signatures_with_its_shortcuts(home, pdf, without):
    calls, _ = count_calls(
        [_signer_overrides._package_signature, SimpleSigner._package_signature],
        lambda: home.sealer().seal(pdf),
    )
    assert calls[_signer_overrides._package_signature] == 1, calls
    assert calls[SimpleSigner._package_signature] == 0, calls

    without(_signer_overrides)
    assert not _signer_overrides.installed()
    calls, _ = count_calls(
        [_signer_overrides._package_signature, SimpleSigner._package_signature],
        lambda: home.sealer().seal(pdf),
    )
    assert calls[_signer_overrides._package_signature] == 0
    assert calls[SimpleSigner._package_signature] == 1, calls


@pytest.mark.parametrize("use_pades", [True, False])
def test_the_signers_shortcuts_give_pyhankos_bytes(make_home, use_pades, without):
    """RSA PKCS#1 v1.5 is deterministic: the whole SignedData compares, with and without."""
    signer = make_home("rsa-2048").seal_signer
    settings = PdfCMSSignedAttributes(signing_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    digest = hashlib.sha256(b"document").digest()

    def cms_der() -> bytes:
        return run_sync(
            signer.async_sign(digest, "sha256", use_pades=use_pades, signed_attr_settings=settings)
        ).dump()

    patched = cms_der()
    without(_signer_overrides)
    assert cms_der() == patched


def test_a_sealed_document_reads_the_same_with_and_without_our_readers(sealed, without):
    def contents() -> tuple[bytes, object]:
        sig = PdfFileReader(BytesIO(sealed), strict=False).embedded_signatures[0]
        return sig.pkcs7_content, sig.sig_object.get("/Name")

    patched = contents()
    without(_pdfread)
    assert contents() == patched
