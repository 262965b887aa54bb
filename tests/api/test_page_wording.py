"""Every reason the verifier can give reaches a Thai reader in Thai."""

from __future__ import annotations

import re

import pytest

from api.pages._text import reason

LTV_SENTENCES = [
    "The seal certificate was revoked on 2027-01-02 because its key was compromised, "
    "and this document was sealed after that (2027-01-03).",
    "A certificate in the seal's chain was revoked on 2027-01-02; nothing proves this document "
    "was sealed before then (its timestamp is dated 2027-01-05).",
    "The seal certificate was revoked on 2027-01-02 because it was replaced, but a timestamp "
    "proves this document was sealed on 2026-12-01, before then.",
    "The certificate of Seal expired on 2029-11-24, and the document carries no valid archive "
    "timestamp proving it was sealed before then.",
    "The certificate of Seal expired on 2029-11-24, and its archive timestamp of 2030-01-01 came "
    "too late to prove it was sealed before then.",
    "The certificate of Seal expired on 2029-11-24; archive timestamps prove the document was "
    "sealed on 2026-11-25, while it was valid.",
    "No up-to-date revocation information for the seal's certificates is available here, so it "
    "cannot be confirmed that they were not revoked.",
    "The seal relies on an algorithm that is no longer considered secure, and no archive "
    "timestamp protects it from before then.",
    "The seal certificate was not yet valid when the document was sealed.",
    "Nothing proves when this document was sealed.",
    "The seal could not be fully validated (INDETERMINATE/GENERIC).",
]


@pytest.mark.parametrize("sentence", LTV_SENTENCES)
def test_long_term_validation_reasons_are_translated(sentence):
    thai = reason(sentence, "th")
    assert thai.lang == "th"
    words = re.findall(r"[A-Za-z]{3,}", thai.text.replace("Seal", ""))
    assert not words, thai.text


VERIFIER_SENTENCES = [
    "Content was added or changed after the document was sealed (annotations (comments, marks) "
    "were added or changed, pages or content were modified).",
    "Revision 3, after the seal: validation data (certificates, revocation information) was added; "
    "a document timestamp was added (allowed).",
    "This file says it is document MOI-2026-000001, but it is not the file on record for it.",
    "The file is encrypted with a password; give the password to check it.",
    "The file is encrypted and the password given does not open it.",
    "The signature in field Signature1 uses a format this verifier does not support "
    "(adbe.pkcs7.sha1), so it could not be checked.",
    "The signature in field Signature1 uses an algorithm this verifier does not support, so it "
    "could not be checked.",
    "The signature in field Signature1 holds several signers in one signature, which PDF does not "
    "allow and this verifier cannot check.",
    "The signature in field Signature1 does not include the signer's certificate, so who made it "
    "cannot be checked.",
    "The signature in field Signature1 is damaged (it is not a correctly encoded signature) and "
    "cannot be checked.",
    "The signature in field Signature1 could not be validated here.",
]


@pytest.mark.parametrize("sentence", VERIFIER_SENTENCES)
def test_per_signature_and_revision_reasons_are_translated(sentence):
    thai = reason(sentence, "th")
    assert thai.lang == "th"
    words = re.findall(r"[A-Za-z]{3,}", thai.text.replace("Signature1", "").replace("MOI", "")
                       .replace("adbe.pkcs7.sha1", "").replace("PDF", ""))
    assert not words, thai.text


def test_every_sentence_the_verifier_writes_for_a_cause_is_translated():
    from signing._causes import Cause, cause_of

    causes = [Cause.unsupported_subfilter("/adbe.pkcs7.sha1"), Cause.unsupported_type("/X"),
              Cause.unsupported_algorithm("1.2.3"), cause_of(ValueError("garbage")),
              cause_of(KeyError("x"), parsing=False),
              cause_of(ValueError("signer_infos should contain exactly one entry")),
              cause_of(ValueError("signer certificate not included"))]
    for cause in causes:
        assert reason(cause.sentence("F1"), "th").lang == "th", cause.words
