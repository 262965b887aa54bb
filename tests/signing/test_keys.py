"""The in-memory signer gives the same CMS values as pyHanko's own SimpleSigner."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from pyhanko.sign.ades.api import CAdESSignedAttrSpec
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from signing._aio import run_sync
from signing.keys import InMemorySigner
from signing.timestamps import InProcessTimeStamper

# fixed inputs, so that two signers' outputs can be compared byte for byte
_SETTINGS = PdfCMSSignedAttributes(signing_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
_DIGEST = hashlib.sha256(b"document").digest()


def _stock(signer: InMemorySigner) -> SimpleSigner:
    return SimpleSigner(
        signing_cert=signer.signing_cert, signing_key=signer.signing_key, cert_registry=signer.cert_registry
    )


@pytest.mark.parametrize("use_pades", [True, False])
def test_signed_attributes_are_pyhankos(home, use_pades):
    ours = home.seal_signer
    assert isinstance(ours, InMemorySigner)

    def attrs(signer):
        return run_sync(
            signer.signed_attrs(_DIGEST, "sha256", attr_settings=_SETTINGS, use_pades=use_pades)
        ).dump()

    assert attrs(ours) == attrs(_stock(ours))


def test_timestamp_attributes_come_in_turn_and_whole(home):
    """A content timestamp among the signed attributes, a signature timestamp unsigned."""
    ours, timestamper = home.seal_signer, InProcessTimeStamper(home.tsa)
    signed = run_sync(
        ours.signed_attrs(
            _DIGEST, "sha256", use_pades=True, timestamper=timestamper,
            attr_settings=PdfCMSSignedAttributes(cades_signed_attrs=CAdESSignedAttrSpec(timestamp_content=True)),
        )
    )
    types = sorted(a["type"].native for a in signed)
    assert types == sorted(
        ["content_type", "message_digest", "signing_certificate_v2", "content_time_stamp"]
    )
    unsigned = run_sync(ours.unsigned_attrs("sha256", b"\x01" * 256, signed, timestamper=timestamper))
    assert [a["type"].native for a in unsigned] == ["signature_time_stamp_token"]
    assert run_sync(ours.unsigned_attrs("sha256", b"\x01" * 256, signed)) is None


@pytest.mark.parametrize("use_pades", [True, False])
def test_whole_cms_signature_is_pyhankos_byte_for_byte(make_home, use_pades):
    """RSA PKCS#1 v1.5 signatures are deterministic, so the whole SignedData can be compared."""
    home = make_home("rsa-2048")
    ours = home.seal_signer

    def cms_der(signer):
        return run_sync(
            signer.async_sign(_DIGEST, "sha256", use_pades=use_pades, signed_attr_settings=_SETTINGS)
        ).dump()

    assert cms_der(ours) == cms_der(_stock(ours))
    assert cms_der(ours) == cms_der(ours)  # and again, from what it remembered
