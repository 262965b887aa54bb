"""A corpus of third-party-style signed PDFs: each signature judged on its own, each cause named.

Every file is made here with pyHanko's stock signer (see ``corpus.py``), not
with edoc's Sealer, so the verifier meets the shapes other producers leave.
"""

from __future__ import annotations

import re

import pytest

from signing.validate import verify_pdf
from tests.signing.conftest import plain_pdf
from tests.tools import nss_db, pdfsig

from . import corpus as c


@pytest.fixture
def pdf() -> bytes:
    return plain_pdf(pages=2)


@pytest.fixture
def two(home, pdf) -> bytes:
    """Two approval signatures, one after the other."""
    return c.sign(c.sign(pdf, home, "Sig1"), home, "Sig2")


def check(home, data, **kw):
    return verify_pdf(data, policy=home.trust_policy(), **kw)


def by_field(report):
    return {s.field_name: s for s in report.signatures}


def test_two_approval_signatures_are_both_valid(home, two):
    report = check(home, two)
    assert report.verdict == "valid"
    sigs = by_field(report)
    assert [s.ades_indication for s in sigs.values()] == ["TOTAL_PASSED", "TOTAL_PASSED"]
    assert (sigs["Sig1"].revision, sigs["Sig2"].revision) == (2, 3)
    assert report.revisions[2].changes == ("signature",)
    assert report.revisions[2].permitted is True


def test_document_timestamp_after_lt_is_benign(home, pdf):
    data = c.doc_timestamp(c.sign(pdf, home, "Sig1", lt=True), home)
    report = check(home, data)
    assert report.verdict == "valid", report.reasons
    assert [s.kind for s in report.signatures] == ["signature", "document-timestamp"]
    assert [r.changes for r in report.revisions[2:]] == [("dss",), ("document-timestamp",)]
    assert all(r.permitted for r in report.revisions[2:])
    assert not any("content were modified" in r for r in report.reasons)


def test_encrypted_with_empty_user_password_opens(home, pdf):
    data = c.sign(c.encrypted(pdf), home, "Sig1", password="")
    report = check(home, data)
    assert report.encrypted and report.verdict == "valid"


def test_encrypted_with_a_password_needs_it(home, pdf):
    data = c.sign(c.encrypted(pdf, "secret"), home, "Sig1", password="secret")
    refused = check(home, data)
    assert refused.verdict == "indeterminate" and refused.details["code"] == "password-required"
    assert check(home, data, password="wrong").details["code"] == "password-required"
    assert check(home, data, password="secret").verdict == "valid"


@pytest.mark.parametrize(
    ("certify", "docmdp", "verdict"),
    [
        (False, None, "valid"),  # approval signature: comments are allowed
        (True, c.fields.MDPPerm.ANNOTATE, "valid"),  # P=3 allows annotations
        (True, c.fields.MDPPerm.FILL_FORMS, "invalid"),  # P=2 does not
        (True, c.fields.MDPPerm.NO_CHANGES, "invalid"),  # P=1 allows nothing
    ],
)
def test_annotation_after_signing_follows_the_permissions(home, pdf, certify, docmdp, verdict):
    kw = {"certify": True, "docmdp": docmdp} if certify else {}
    report = check(home, c.annotate(c.sign(pdf, home, "Sig1", **kw)))
    assert report.verdict == verdict, report.reasons
    last = report.revisions[-1]
    assert "annotations" in last.changes and "content" not in last.changes
    assert last.permitted is (verdict == "valid")
    if verdict == "invalid":
        assert last.forbidden_by == "Sig1"
        assert any("annotations" in r for r in report.reasons)


def test_content_change_after_signing_is_invalid(home, pdf):
    report = check(home, c.change_content(c.sign(pdf, home, "Sig1")))
    assert report.verdict == "invalid"
    assert report.revisions[-1].changes[-1] == "content"
    sig = report.signatures[0]
    assert sig.intact and sig.changes_permitted is False
    assert sig.ades_indication == "TOTAL_FAILED/HASH_FAILURE"


def test_empty_field_is_listed_as_unsigned(home, pdf):
    report = check(home, c.empty_field(c.sign(pdf, home, "Sig1")))
    assert report.verdict == "valid"
    assert report.unsigned_fields == ("Unsigned",)


def test_a_file_with_only_an_empty_field_is_unsigned(home, pdf):
    report = check(home, c.empty_field(pdf))
    assert report.verdict == "invalid" and report.unsigned_fields == ("Unsigned",)


@pytest.mark.parametrize(
    ("edit", "indication", "code", "verdict"),
    [
        (lambda home, d: c.rename_last_subfilter(d), "INDETERMINATE/SIG_CONSTRAINTS_FAILURE",
         "unsupported-subfilter", "indeterminate"),
        (lambda home, d: c.replace_last_cms(d, c.strip_certificates),
         "INDETERMINATE/NO_SIGNING_CERTIFICATE_FOUND", "no-signing-certificate", "indeterminate"),
        (lambda home, d: c.replace_last_cms(d, c.two_signer_infos),
         "INDETERMINATE/SIG_CONSTRAINTS_FAILURE", "several-signers", "indeterminate"),
        (lambda home, d: c.replace_last_cms(d, c.garbage), "TOTAL_FAILED/FORMAT_FAILURE",
         "bad-encoding", "invalid"),
        (lambda home, d: c.replace_last_cms(d, c.plain_ecdsa(home)),
         "INDETERMINATE/CRYPTO_CONSTRAINTS_FAILURE", "unsupported-algorithm", "indeterminate"),
    ],
    ids=["sha1-subfilter", "no-certificates", "two-signer-infos", "garbage-cms", "plain-ecdsa"],
)
def test_one_bad_signature_does_not_hide_the_good_one(home, two, edit, indication, code, verdict):
    report = check(home, edit(home, two))
    sigs = by_field(report)
    assert sigs["Sig1"].ades_indication == "TOTAL_PASSED" and sigs["Sig1"].intact
    assert sigs["Sig2"].ades_indication == indication
    assert sigs["Sig2"].reason_code == code
    assert any("Sig2" in r for r in report.reasons)
    assert report.verdict == verdict


def test_rfc3161_under_type_sig_is_judged_as_a_timestamp(home, pdf, monkeypatch):
    report = check(home, c.rfc3161_under_sig(c.sign(pdf, home, "Sig1"), home, monkeypatch))
    assert report.verdict == "valid"
    ts = by_field(report)["TSasSig"]
    assert ts.kind == "document-timestamp" and ts.sub_filter == "ETSI.RFC3161" and ts.intact


def test_unknown_root_is_indeterminate_until_trusted(home, stranger, pdf):
    data = c.sign(pdf, stranger, "Sig1")
    report = check(home, data)
    assert report.verdict == "indeterminate"
    assert report.signatures[0].ades_indication == "INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND"
    assert report.signatures[0].intact
    trusting = home.trust_policy().trusting(*stranger.pki.trust_anchors)
    trusted = verify_pdf(data, policy=trusting)
    assert trusted.verdict == "valid", (trusted.reasons, trusted.signatures)


def _pdfsig_valid(out: str) -> int:
    return len(re.findall(r"Signature Validation: Signature is Valid\.", out))


@pytest.mark.parametrize("case", ["two", "garbage", "annotation", "content"])
def test_pdfsig_agrees_on_which_signatures_are_intact(home, two, pdf, tmp_path, case):
    data = {
        "two": lambda: two,
        "garbage": lambda: c.replace_last_cms(two, c.garbage),
        "annotation": lambda: c.annotate(c.sign(pdf, home, "Sig1")),
        "content": lambda: c.change_content(c.sign(pdf, home, "Sig1")),
    }[case]()
    path = tmp_path / f"{case}.pdf"
    path.write_bytes(data)
    out = pdfsig(path, nss_db(tmp_path / "nss", list(home.pki.trust_anchors)))
    report = check(home, data)
    intact = [s for s in report.signatures if s.intact and s.valid]
    assert _pdfsig_valid(out) == len(intact), out
    if case == "garbage":
        return  # pdfsig cannot read Sig2's ranges either: nothing more to compare
    # pdfsig says "not total document signed" exactly where a later revision follows
    partial = out.count("Not total document signed")
    assert partial == sum(1 for s in report.signatures if s.revision != len(report.revisions)), out


def test_signing_a_field_locked_by_an_earlier_signature_is_forbidden(home, pdf):
    # Sig1 locks the field "Later": signing it afterwards breaks Sig1's FieldMDP
    first = c.sign(c.empty_field(pdf, "Later"), home, "Sig1", lock=["Later"])
    report = check(home, c.sign(first, home, "Later"))
    assert report.revisions[-1].permitted is False and report.revisions[-1].forbidden_by == "Sig1"
    assert report.verdict == "invalid"


def test_signing_a_field_not_locked_is_allowed(home, pdf):
    first = c.sign(c.empty_field(pdf, "Later"), home, "Sig1", lock=["Other"])
    report = check(home, c.sign(first, home, "Later"))
    assert report.verdict == "valid", report.reasons
