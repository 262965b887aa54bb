"""An agency whose seal key is generated in the PKCS#11 token (SoftHSM2): it issues, rotates, verifies."""

from __future__ import annotations

import secrets

from edoc.agencies import AgencyService
from edoc.verification import Verifier


def test_an_agency_seals_with_a_key_in_the_token(make_hsm_home):
    home = make_hsm_home("ecdsa-p256")
    label = f"edoc-seal-agency-{secrets.token_hex(4)}"
    made = AgencyService(home).add("hsm-agency", name_th="หน่วยงานเอชเอสเอ็ม", name_en="HSM Agency",
                                   key_source="pkcs11", key_label=label)
    assert made.record.seal_key_source == "pkcs11" and made.record.seal_key_label == label
    assert not (home.path / "agencies" / "hsm-agency" / "seal.key.pem").exists()  # no key file at all
    data = dict(home.templates().get("certificate").examples["th"])
    before = home.issuer("hsm-agency").issue("certificate", data)
    verifier = Verifier.for_home(home)
    report = verifier.verify(home.issuer().pdf(before.record))
    assert report.verdict == "valid", report.reasons
    assert "HSM Agency Electronic Seal" in report.reasons[0]
    AgencyService(home).rotate_key("hsm-agency")
    rotated = home.registry().agencies.get("hsm-agency")
    assert rotated.seal_key_label != label and rotated.seal_key_label.startswith(label)
    after = home.issuer("hsm-agency").issue("certificate", data)
    for doc in (before, after):
        assert verifier.verify(home.issuer().pdf(doc.record)).verdict == "valid"
