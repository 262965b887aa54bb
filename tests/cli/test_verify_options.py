"""``edoc verify`` options for auditors and receiving agencies."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

from certs.keys import save_certificates
from edoc.home import Home
from edoc.settings import Settings
from tests.fixtures.pki import BASE_URL, PASSPHRASE
from tests.signing.conftest import plain_pdf
from tests.verifier import corpus as c

ETSI = "{http://uri.etsi.org/19102/v1.2.1#}"


def test_json_has_a_schema_version_and_per_signature_indications(cli, home, tmp_path):
    doc = tmp_path / "two.pdf"
    doc.write_bytes(c.sign(c.sign(plain_pdf(), home, "A"), home, "B"))
    # sealed with the home's own seal but never registered: --seal-only judges the seals alone
    code, out, _ = cli("verify", "--json", "--seal-only", str(doc))
    report = json.loads(out)
    assert code == 0 and report["verdict"] == "valid" and report["schema_version"] == "2.0"
    assert [s["field_name"] for s in report["signatures"]] == ["A", "B"]
    assert all(s["intact"] and s["indication"] == "TOTAL_PASSED" for s in report["signatures"])
    assert [r["changes"] for r in report["revisions"]][2] == ["signature"]


def test_trust_flag_turns_an_unknown_root_from_indeterminate_to_valid(cli, home, tmp_path):
    stranger_home = tmp_path / "stranger"
    other = Home.create(Settings(home=stranger_home, key_type="ecdsa-p256", key_passphrase=PASSPHRASE,
                          public_base_url=BASE_URL, agency_id="uni", agency_name_en="Other University",
                          agency_name_th="มหาวิทยาลัยอื่น"))
    doc = tmp_path / "foreign.pdf"
    doc.write_bytes(c.sign(plain_pdf(), other, "Sig1"))
    code, out, _ = cli("verify", "--json", str(doc))
    sig = json.loads(out)["signatures"][0]
    assert code == 1 and sig["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND" and sig["intact"]
    root = tmp_path / "root.pem"
    save_certificates(root, list(other.pki.trust_anchors))
    code, out, _ = cli("verify", "--trust", str(root), str(doc))
    assert code == 0 and "VALID" in out


def test_trust_flag_with_a_bad_file_is_a_usage_error(cli, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("nope")
    doc = tmp_path / "x.pdf"
    doc.write_bytes(plain_pdf())
    code, _, err = cli("verify", "--trust", str(bad), str(doc))
    assert code == 2 and "--trust" in err


def test_password_opens_an_encrypted_file(cli, home, tmp_path):
    doc = tmp_path / "locked.pdf"
    doc.write_bytes(c.sign(c.encrypted(plain_pdf(), "pw"), home, "Sig1", password="pw"))
    code, out, _ = cli("verify", str(doc))
    assert code == 1 and "INDETERMINATE" in out and "password" in out
    code, out, _ = cli("verify", "--password", "pw", str(doc))
    assert code == 0, out


def test_extract_revision_writes_the_signed_revision(cli, home, tmp_path):
    signed = c.sign(plain_pdf(), home, "Sig1")
    doc = tmp_path / "annotated.pdf"
    doc.write_bytes(c.annotate(signed))
    out_pdf = tmp_path / "rev2.pdf"
    code, out, err = cli("verify", "--seal-only", "--extract-revision", "2", "--out", str(out_pdf),
                         str(doc))
    assert code == 0, out + err
    assert out_pdf.read_bytes() == signed
    assert "revision 3: " in out and "annotations" in out
    code, _, err = cli("verify", "--extract-revision", "9", str(doc))
    assert code == 2 and "revisions 1 to 3" in err


def test_format_etsi_writes_a_validation_report(cli, home, tmp_path):
    doc = tmp_path / "one.pdf"
    doc.write_bytes(c.replace_last_cms(c.sign(c.sign(plain_pdf(), home, "A"), home, "B"),
                                       c.strip_certificates))
    code, out, _ = cli("verify", "--format", "etsi", str(doc))
    root = ET.fromstring(out.encode())
    assert root.tag == f"{ETSI}ValidationReport"
    statuses = [(r.find(f"{ETSI}SignatureIdentifier/{ETSI}DAIdentifier").text,
                 r.find(f"{ETSI}SignatureValidationStatus/{ETSI}MainIndication").text,
                 getattr(r.find(f"{ETSI}SignatureValidationStatus/{ETSI}SubIndication"), "text", None))
                for r in root.findall(f"{ETSI}SignatureValidationReport")]
    assert statuses == [
        ("A", "urn:etsi:019102:mainindication:total-passed", None),
        ("B", "urn:etsi:019102:mainindication:indeterminate",
         "urn:etsi:019102:subindication:NO_SIGNING_CERTIFICATE_FOUND"),
    ]


def _issue(cli, home, tmp_path, name="cert.pdf"):
    out_pdf = tmp_path / name
    code, out, err = cli("issue", "certificate", "--example", "--out", str(out_pdf))
    assert code == 0, err
    return out_pdf


def test_data_of_a_valid_document_is_written_with_its_seal(cli, home, tmp_path):
    doc = _issue(cli, home, tmp_path)
    data = tmp_path / "data.json"
    code, _, err = cli("verify", "--data", str(data), str(doc))
    assert code == 0, err
    found = json.loads(data.read_text(encoding="utf-8"))
    assert found["covered_by"] == "edoc-seal" and found["revision"] == 2
    assert found["data"] == dict(home.templates().get("certificate").examples["th"])
    assert found["document_id"] and found["issuing_agency"] == "test-agency"


def test_no_data_from_an_altered_file(cli, home, tmp_path):
    doc = _issue(cli, home, tmp_path)
    doc.write_bytes(c.change_content(doc.read_bytes()))
    data = tmp_path / "data.json"
    code, _, err = cli("verify", "--data", str(data), str(doc))
    assert code == 1 and not data.exists() and "no data written" in err


def test_summary_csv_has_a_row_per_file_and_no_formulas(cli, home, tmp_path, monkeypatch):
    good = _issue(cli, home, tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "=cmd.pdf").write_bytes(plain_pdf())
    results = tmp_path / "results.csv"
    code, _, _ = cli("verify", "--summary", str(results), str(good), "=cmd.pdf")
    assert code == 1
    rows = list(csv.DictReader(results.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["verdict"] for r in rows] == ["valid", "invalid"]
    assert rows[0]["document_id"] and rows[0]["status"] == "issued"
    assert rows[0]["template"] == "certificate" and rows[0]["issuing_agency"] == "test-agency"
    assert any(k.startswith("data.") and v for k, v in rows[0].items())
    assert rows[1]["file"] == "'=cmd.pdf"


def test_compare_revision_boxes_the_forged_line(cli, home, tmp_path):
    signed = c.sign(plain_pdf(pages=2), home, "Sig1")
    doc = tmp_path / "forged.pdf"
    doc.write_bytes(c.change_content(signed))
    diff_dir = tmp_path / "diff"
    code, _, err = cli("verify", "--compare-revision", "2", "--diff-dir", str(diff_dir), str(doc))
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("page ")]
    assert lines[0].startswith("page 1: CHANGED since revision 2: (")
    assert lines[1] == "page 2: looks the same as in revision 2"
    # the forged line is drawn at x=72, y=700 from the bottom of an A4 page (842 pt high)
    box = lines[0].split(": (", 1)[1].split(")")[0]
    x0, y0 = (float(v) for v in box.split(","))
    assert 60 <= x0 <= 80 and 120 <= y0 <= 150
    assert (diff_dir / "page-1-diff.png").is_file()
