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
