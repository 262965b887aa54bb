"""The trust store: `edoc trust add|list|remove|import-tl`, and which anchor made a seal trusted.

A second home with a PKI of its own (another deployment, another root) issues
the documents; this home's verifier trusts them only through its trust store.
"""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from lxml.builder import ElementMaker

from api.pages._text import reason
from edoc.home import Home
from edoc.settings import Settings
from edoc.verification import Verifier
from tests.fixtures.pki import PASSPHRASE

TSL = "http://uri.etsi.org/02231/v2#"
GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
WITHDRAWN = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
ACCREDITED = "http://uri.etsi.org/TrstSvc/Svcstatus/accredited"
CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
OCSP_QC = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP/QC"
TSA_QTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"


def other_deployment(path: Path, base_url: str, agency: str = "agency-b") -> Home:
    """A home with a PKI of its own (its own root), as another deployment runs it."""
    return Home.create(Settings(
        home=path, key_passphrase=PASSPHRASE, public_base_url=base_url, agency_id=agency,
        agency_name_en="Agency B", agency_name_th="หน่วยงานบี",
    ))


def issue_pdf(home: Home) -> tuple[str, bytes]:
    """Issue one certificate in ``home``: (document id, signed PDF)."""
    data = copy.deepcopy(dict(home.templates().get("certificate").examples["en"]))
    issued = home.issuer().issue("certificate", data, lang="en")
    return issued.id, home.issuer().pdf(issued.record)


def root_of(home: Home) -> Path:
    return home.settings.pki_dir / "trust" / "root-ca.pem"


@pytest.fixture
def deployment_b(tmp_path) -> Home:
    return other_deployment(tmp_path / "b", "http://127.0.0.1:9")


@pytest.fixture
def b_document(deployment_b) -> tuple[str, bytes]:
    return issue_pdf(deployment_b)


def verify(home: Home, pdf: bytes, at: datetime | None = None):
    return Verifier.for_home(Home.open(home.settings)).verify(pdf, at=at)


# -- add / list / remove --------------------------------------------------------------


def test_existing_home_root_is_an_anchor_and_names_its_seals(home, run_edoc):
    code, out, _ = run_edoc(home, "trust", "list")
    assert code == 0 and out.split()[0] == "root-ca" and "pki/trust" in out
    _, pdf = issue_pdf(home)
    report = verify(home, pdf)
    assert report.verdict == "valid"
    [seal] = [s for s in report.signatures if s.kind == "signature"]
    assert seal.trust_anchor == "root-ca"
    code, _, err = run_edoc(home, "trust", "remove", "root-ca")
    assert code == 1 and "own root" in err
    pdf_path = home.path / "own.pdf"
    pdf_path.write_bytes(pdf)
    code, out, _ = run_edoc(home, "verify", str(pdf_path))
    assert code == 0 and ", trusted via root-ca; TOTAL_PASSED" in out


def test_add_trusts_another_root_and_remove_stops_it(home, deployment_b, b_document, run_edoc):
    _, pdf = b_document
    before = verify(home, pdf)
    assert before.verdict == "indeterminate" and not before.signatures[0].trusted

    code, out, err = run_edoc(home, "trust", "add", str(root_of(deployment_b)), "--name", "agency-b")
    assert code == 0, err
    assert "trusted agency-b for any" in out
    code, out, _ = run_edoc(home, "trust", "list", "--json")
    assert [row["name"] for row in __import__("json").loads(out)] == ["root-ca", "agency-b"]

    report = verify(home, pdf)
    assert report.verdict == "valid", report.reasons
    assert report.signatures[0].trust_anchor == "agency-b"
    assert report.to_dict()["signatures"][0]["trust_anchor"] == "agency-b"
    [genuine] = [r for r in report.reasons if r.startswith("Genuinely sealed by")]
    assert "trusted via agency-b" in genuine and "issuing registry was not consulted" in genuine
    thai = reason(genuine, "th")
    assert thai.lang == "th" and "agency-b" in thai.text and "ไม่ได้ตรวจสอบสถานะ" in thai.text

    assert run_edoc(home, "trust", "remove", "agency-b")[0] == 0
    assert verify(home, pdf).verdict == "indeterminate"


def test_add_answers_bad_input_with_a_message(home, tmp_path, deployment_b, run_edoc):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    code, _, err = run_edoc(home, "trust", "add", str(junk), "--name", "x")
    assert code == 1 and "not a certificate" in err and "Traceback" not in err
    code, _, err = run_edoc(home, "trust", "add", str(root_of(deployment_b)), "--name", "root-ca")
    assert code == 1 and "exists already" in err
    code, _, err = run_edoc(home, "trust", "add", str(root_of(deployment_b)), "--name", "../x")
    assert code == 1 and "invalid anchor name" in err
    code, _, err = run_edoc(home, "trust", "remove", "nobody")
    assert code == 1 and "no anchor named" in err
    code, _, err = run_edoc(home, "trust", "add", str(tmp_path / "missing.pem"), "--name", "m")
    assert code == 2 and "cannot read" in err


def test_an_anchor_for_tsa_only_does_not_vouch_for_seals(home, deployment_b, b_document, run_edoc):
    _, pdf = b_document
    assert run_edoc(home, "trust", "add", str(root_of(deployment_b)), "--name", "b-tsa",
                    "--for", "tsa")[0] == 0
    report = verify(home, pdf)
    assert report.verdict == "indeterminate"
    seal = report.signatures[0]
    assert not seal.trusted and seal.trust_anchor is None
    [problem] = [p for p in seal.problems if "trusted for timestamps only" in p]
    assert reason(problem, "th").lang == "th"
    assert run_edoc(home, "trust", "remove", "b-tsa")[0] == 0
    assert run_edoc(home, "trust", "add", str(root_of(deployment_b)), "--name", "b-seal",
                    "--for", "seal")[0] == 0
    # the seal is B's, and so is the TSA that timestamped it: trusted for seals only, that is
    # not enough
    report = verify(home, pdf)
    seal = report.signatures[0]
    assert seal.trust_anchor == "b-seal" and report.verdict == "indeterminate"
    assert seal.timestamp is not None and not seal.timestamp.trusted
    [problem] = [p for p in seal.problems if "is not trusted for timestamps" in p]
    assert "b-seal" in problem and reason(problem, "th").lang == "th"
    # the same root trusted for timestamps too, under another name: valid
    assert run_edoc(home, "trust", "add", str(root_of(deployment_b)), "--name", "b-tsa",
                    "--for", "tsa")[0] == 0
    report = verify(home, pdf)
    assert report.verdict == "valid", report.reasons
    assert report.signatures[0].trust_anchor == "b-seal"


# -- ETSI TS 119 612 trusted lists ----------------------------------------------------


def _operator(tmp_path: Path, cn: str = "Test TL operator") -> tuple[bytes, bytes, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=60))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    path = tmp_path / f"{cn.replace(' ', '-')}.pem"
    path.write_bytes(cert_pem)
    return key_pem, cert_pem, path


def _b64(pem_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(pem_path.read_bytes())
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def trusted_list(services: list[dict], *, sequence: int = 1, next_update: datetime | None = None):
    """A TS 119 612 list (lxml element) with one provider offering ``services``."""
    E = ElementMaker(namespace=TSL, nsmap={None: TSL})
    now = datetime.now(UTC)

    def service(s: dict):
        info = E.ServiceInformation(
            E.ServiceTypeIdentifier(s["type"]),
            E.ServiceName(E.Name(s["name"], {"{http://www.w3.org/XML/1998/namespace}lang": "en"})),
            E.ServiceDigitalIdentity(E.DigitalId(E.X509Certificate(s["cert"]))),
            E.ServiceStatus(s["status"]),
            E.StatusStartingTime(_iso(s["since"])),
        )
        history = [
            E.ServiceHistoryInstance(
                E.ServiceTypeIdentifier(s["type"]), E.ServiceStatus(status),
                E.StatusStartingTime(_iso(since)),
            )
            for status, since in s.get("history", ())
        ]
        return E.TSPService(info, *([E.ServiceHistory(*history)] if history else []))

    return E.TrustServiceStatusList(
        E.SchemeInformation(
            E.TSLVersionIdentifier("5"),
            E.TSLSequenceNumber(str(sequence)),
            E.SchemeOperatorName(E.Name("Test Scheme Operator")),
            E.SchemeTerritory("TH"),
            E.ListIssueDateTime(_iso(now)),
            E.NextUpdate(E.dateTime(_iso(next_update or now + timedelta(days=30)))),
        ),
        E.TrustServiceProviderList(
            E.TrustServiceProvider(
                E.TSPInformation(E.TSPName(E.Name("Agency B CA"))),
                E.TSPServices(*[service(s) for s in services]),
            )
        ),
        TSLTag="http://uri.etsi.org/19612/TSLTag",
    )


def sign_list(root, key_pem: bytes, cert_pem: bytes) -> bytes:
    from signxml import XMLSigner, methods
    from signxml.algorithms import DigestAlgorithm, SignatureMethod

    signer = XMLSigner(method=methods.enveloped, signature_algorithm=SignatureMethod.ECDSA_SHA256,
                       digest_algorithm=DigestAlgorithm.SHA256)
    return etree.tostring(signer.sign(root, key=key_pem, cert=cert_pem.decode()),
                          xml_declaration=True, encoding="UTF-8")


def test_signed_trusted_list_anchors_granted_services_with_their_history(
    home, tmp_path, deployment_b, b_document, run_edoc
):
    _, pdf = b_document
    key, cert, signer = _operator(tmp_path)
    now = datetime.now(UTC)
    other = other_deployment(tmp_path / "c", "http://127.0.0.1:9", agency="agency-c")
    services = [
        {"type": CA_QC, "name": "B seals", "cert": _b64(root_of(deployment_b)), "status": GRANTED,
         "since": now - timedelta(days=2), "history": [(ACCREDITED, now - timedelta(days=400))]},
        {"type": CA_QC, "name": "C seals", "cert": _b64(root_of(other)), "status": WITHDRAWN,
         "since": now - timedelta(days=1), "history": [(GRANTED, now - timedelta(days=300))]},
        {"type": TSA_QTST, "name": "B timestamps", "cert": _b64(deployment_b.settings.pki_dir / "tsa.pem"),
         "status": GRANTED, "since": now - timedelta(days=2)},
        {"type": OCSP_QC, "name": "B OCSP", "cert": _b64(root_of(deployment_b)), "status": GRANTED,
         "since": now - timedelta(days=2)},
    ]
    xml = tmp_path / "tl.xml"
    xml.write_bytes(sign_list(trusted_list(services), key, cert))

    code, out, err = run_edoc(home, "trust", "import-tl", str(xml), "--signer", str(signer))
    assert code == 0, err
    assert "3 certificates, 2 granted now, 1 services skipped" in out
    _, listing, _ = run_edoc(home, "trust", "list", "--json")
    rows = {r["name"]: r for r in __import__("json").loads(listing)}
    b_row = rows["th.agency-b-ca-b-seals"]
    assert b_row["source"] == "tl:th" and b_row["for"] == "seal" and b_row["active"]
    assert b_row["service_type"] == CA_QC and b_row["status"] == GRANTED
    assert rows["th.agency-b-ca-c-seals"]["active"] is False
    assert rows["th.agency-b-ca-b-timestamps"]["for"] == "tsa"

    report = verify(home, pdf)
    assert report.verdict == "valid", report.reasons
    assert report.signatures[0].trust_anchor == "th.agency-b-ca-b-seals"

    # C's service is withdrawn now: its seals are not trusted now ...
    _, c_pdf = issue_pdf(other)
    withdrawn = verify(home, c_pdf)
    assert withdrawn.verdict == "indeterminate"
    [problem] = [p for p in withdrawn.signatures[0].problems if "is withdrawn" in p]
    assert "th.agency-b-ca-c-seals" in problem and reason(problem, "th").lang == "th"
    # ... nor by anything else that asks the home what it trusts now
    c_root = x509.load_pem_x509_certificate(root_of(other).read_bytes())
    b_root = x509.load_pem_x509_certificate(root_of(deployment_b).read_bytes())
    current = Home.open(home.settings).trust_policy().trust_anchors
    assert b_root in current and c_root not in current
    # ... the status history decides at each time
    anchors = {a.name: a for a in home.trust_store().anchors()}
    b_anchor, c_anchor = anchors["th.agency-b-ca-b-seals"], anchors["th.agency-b-ca-c-seals"]
    assert b_anchor.active_at(now - timedelta(days=100))  # accredited then
    assert c_anchor.active_at(now - timedelta(days=100))  # granted then
    assert not c_anchor.active_at(now) and not b_anchor.active_at(now - timedelta(days=500))

    # the signer is pinned: a re-import needs no --signer, an older list is refused
    xml.write_bytes(sign_list(trusted_list(services[:1], sequence=2), key, cert))
    code, out, err = run_edoc(home, "trust", "import-tl", str(xml))
    assert code == 0, err
    assert "1 certificates" in out and "sequence 2" in out
    xml.write_bytes(sign_list(trusted_list(services, sequence=1), key, cert))
    code, _, err = run_edoc(home, "trust", "import-tl", str(xml))
    assert code == 1 and "older than the one imported" in err


def test_trusted_list_with_a_bad_signature_is_refused(home, tmp_path, deployment_b, run_edoc):
    key, cert, signer = _operator(tmp_path)
    _, _, stranger = _operator(tmp_path, "Someone else")
    now = datetime.now(UTC)
    services = [{"type": CA_QC, "name": "B seals", "cert": _b64(root_of(deployment_b)),
                 "status": GRANTED, "since": now - timedelta(days=2)}]
    signed = sign_list(trusted_list(services), key, cert)
    xml = tmp_path / "tl.xml"

    xml.write_bytes(signed.replace(b"B seals", b"X seals"))  # changed after signing
    code, _, err = run_edoc(home, "trust", "import-tl", str(xml), "--signer", str(signer))
    assert code == 1 and "signature does not check out" in err

    xml.write_bytes(signed)
    code, _, err = run_edoc(home, "trust", "import-tl", str(xml), "--signer", str(stranger))
    assert code == 1 and "signature" in err

    xml.write_bytes(etree.tostring(trusted_list(services)))  # unsigned
    code, _, err = run_edoc(home, "trust", "import-tl", str(xml), "--signer", str(signer))
    assert code == 1 and "signature" in err and "Traceback" not in err

    code, _, err = run_edoc(home, "trust", "import-tl", str(xml))
    assert code == 2 and "--signer" in err

    xml.write_bytes(sign_list(trusted_list(services, next_update=now - timedelta(days=1)), key, cert))
    code, _, err = run_edoc(home, "trust", "import-tl", str(xml), "--signer", str(signer))
    assert code == 1 and "expired" in err

    xml.write_bytes(b"<not-xml")
    code, _, err = run_edoc(home, "trust", "import-tl", str(xml), "--signer", str(signer))
    assert code == 1 and "not well-formed" in err
    # nothing of it was installed
    assert [a.name for a in home.trust_store().anchors()] == ["root-ca"]
