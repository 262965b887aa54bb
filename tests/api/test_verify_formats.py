"""``/v1/verify`` report formats, attached data and the summary of many files."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET

import pytest

from tests.signing.conftest import plain_pdf
from tests.verifier import corpus as c

ETSI = "{http://uri.etsi.org/19102/v1.2.1#}"


@pytest.fixture
def pdf(client, keys, document) -> bytes:
    r = client.get(f"/v1/documents/{document['id']}/pdf", headers=keys.issuer.headers)
    assert r.status_code == 200
    return r.content


def test_format_etsi_answers_xml(client, pdf):
    r = client.post("/v1/verify?format=etsi", files={"file": ("c.pdf", pdf, "application/pdf")})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    main = root.find(f"{ETSI}SignatureValidationReport/{ETSI}SignatureValidationStatus/{ETSI}MainIndication")
    assert main.text == "urn:etsi:019102:mainindication:total-passed"


def test_include_data_gives_the_sealed_data_of_a_valid_file(client, pdf, document):
    r = client.post("/v1/verify?include=data", files={"file": ("c.pdf", pdf, "application/pdf")})
    body = r.json()
    assert body["verdict"] == "valid" and body["schema_version"] == "2.0"
    assert body["data"]["covered_by"] == "edoc-seal"
    assert body["data"]["document_id"] == document["id"]
    assert body["data"]["data"]  # the attached data.json, as issued


def test_include_data_withholds_data_of_an_altered_file(client, pdf):
    altered = c.change_content(pdf)
    r = client.post("/v1/verify?include=data", files={"file": ("c.pdf", altered, "application/pdf")})
    body = r.json()
    assert body["verdict"] == "invalid" and body["data"] is None and "invalid" in body["data_withheld"]


def test_password_field_opens_an_encrypted_upload(client, api_home):
    locked = c.sign(c.encrypted(plain_pdf(), "pw"), api_home, "Sig1", password="pw")
    refused = client.post("/v1/verify", files={"file": ("l.pdf", locked, "application/pdf")}).json()
    assert refused["details"]["code"] == "password-required"
    r = client.post("/v1/verify", files={"file": ("l.pdf", locked, "application/pdf")},
                    data={"password": "pw"})
    assert r.json()["encrypted"] is True and r.json()["signatures"][0]["intact"]


def test_summary_is_one_csv_row_per_file(client, pdf):
    files = [("file", ("a.pdf", pdf, "application/pdf")),
             ("file", ("=b.pdf", plain_pdf(), "application/pdf"))]
    r = client.post("/v1/verify/summary", files=files)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(r.content.decode("utf-8-sig").splitlines()))
    assert [row["verdict"] for row in rows] == ["valid", "invalid"]
    assert rows[0]["status"] == "issued" and rows[0]["document_id"]
    assert rows[1]["file"] == "'=b.pdf"


def test_summary_without_files_is_422(client):
    r = client.post("/v1/verify/summary", files={"other": ("x", b"x")})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
