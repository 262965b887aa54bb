"""An installation that uses an external RFC 3161 TSA over HTTP (here: another edoc's /tsa)."""

from __future__ import annotations

from edoc.verification import Verifier
from signing.seal import Sealer, SealSettings
from signing.timestamps import http_timestamper
from tests.signing.conftest import plain_pdf


def test_sealing_with_an_external_tsa_url(api_home, live_server):
    # the TSA runs in the live server; the sealer reaches it only through HTTP
    sealer = Sealer(
        SealSettings(level="B-T", signature_size=16384),
        signer=api_home.seal_signer,
        timestamper=http_timestamper(f"{live_server}/tsa"),
    )
    report = Verifier(policy=api_home.trust_policy()).verify(sealer.seal(plain_pdf()))
    assert report.verdict == "valid", report.reasons
    assert report.signatures[0].timestamp is not None


def test_home_configured_with_tsa_url_uses_it(make_home, api_home, live_server):
    home = make_home(tsa_url=f"{live_server}/tsa")
    assert "HTTP" in type(home.timestamper()).__name__
    report = Verifier(policy=home.trust_policy()).verify(home.sealer().seal(plain_pdf()))
    assert report.verdict == "valid", report.reasons
