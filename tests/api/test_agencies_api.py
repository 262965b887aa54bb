"""The admin API for agencies: a platform key onboards an agency that then issues on its own."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from tests.platform.test_agencies import _answer, _outside_ca

from .conftest import OTHER_AGENCY, example_data


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_platform_onboards_an_agency_that_issues_with_its_own_seal(client, keys, api_home):
    r = client.post("/v1/agencies", json={"id": "dopa", "name_th": "กรมการปกครอง", "name_en": "DOPA",
                                          "contact": "1548"}, headers=keys.platform.headers)
    assert r.status_code == 201, r.text
    admin = _bearer(r.json()["admin_key"]["secret"])
    assert r.json()["status"] == "active"
    issuer = client.post("/v1/keys", json={"agency": "dopa", "roles": ["issuer"]}, headers=admin)
    assert issuer.status_code == 201
    doc = client.post("/v1/documents", json={"template": "certificate", "data": example_data(api_home)},
                      headers=_bearer(issuer.json()["secret"]))
    assert doc.status_code == 201 and doc.json()["agency"] == "dopa"
    listed = client.get("/v1/agencies", headers=keys.platform.headers).json()
    assert {"dopa", OTHER_AGENCY} <= {a["id"] for a in listed}
    # disabled: issues nothing; its documents still answer with their status
    assert client.post("/v1/agencies/dopa/disable", headers=keys.platform.headers).json()["status"] == "disabled"
    again = client.post("/v1/documents", json={"template": "certificate", "data": example_data(api_home)},
                        headers=_bearer(issuer.json()["secret"]))
    assert again.status_code == 403 and again.json()["type"].endswith("agency-disabled")
    assert client.get(f"/v1/verify/{doc.json()['id']}").json()["status"] == "issued"
    assert client.post("/v1/agencies/dopa/enable", headers=keys.platform.headers).status_code == 200
    assert client.post("/v1/agencies/dopa/rotate-key", headers=keys.platform.headers).status_code == 200
    # its own admin rotates too; the document sealed before still verifies
    assert client.post("/v1/agency/rotate-key", headers=admin).status_code == 200
    pdf = client.get(f"/v1/documents/{doc.json()['id']}/pdf", headers=_bearer(issuer.json()["secret"])).content
    assert client.app.state.edoc.verifier.verify(pdf).verdict == "valid"


def test_only_the_platform_manages_agencies(client, keys):
    for cred in (keys.admin, keys.issuer, keys.auditor, keys.other_admin):
        assert client.get("/v1/agencies", headers=cred.headers).status_code == 403
        r = client.post("/v1/agencies", json={"id": "x1", "name_th": "ก", "name_en": "X"}, headers=cred.headers)
        assert r.status_code == 403
    assert client.get("/v1/agencies/nobody", headers=keys.platform.headers).status_code == 404
    r = client.post("/v1/agencies", json={"id": OTHER_AGENCY, "name_th": "ก", "name_en": "X"},
                    headers=keys.platform.headers)
    assert r.status_code in (409, 400) and r.headers["content-type"] == "application/problem+json"


def test_outside_ca_over_the_api(client, keys, api_home, tmp_path):
    r = client.post("/v1/agencies", json={"id": "ext", "name_th": "ภายนอก", "name_en": "External",
                                          "external_ca": True}, headers=keys.platform.headers)
    assert r.status_code == 201 and r.json()["csr_pem"].startswith("-----BEGIN CERTIFICATE REQUEST")
    csr = client.get("/v1/agencies/ext/csr", headers=keys.platform.headers)
    assert csr.status_code == 200
    ca_key, root = _outside_ca(tmp_path)
    cert = _answer(csr.content, ca_key, root)
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    root_pem = root.public_bytes(serialization.Encoding.PEM).decode()
    refused = client.post("/v1/agencies/ext/certificate", json={"certificate": pem, "chain": root_pem},
                          headers=keys.platform.headers)
    assert refused.status_code == 422 and "trusted root" in refused.json()["detail"]
    garbage = client.post("/v1/agencies/ext/certificate", json={"certificate": "not a certificate"},
                          headers=keys.platform.headers)
    assert garbage.status_code == 422


def test_an_agencys_own_template_is_named_on_its_public_answers(client, keys, api_home, tmp_path):
    import json
    import shutil

    from edoc.agencies import AgencyService
    from edoc.templates import BUILTIN_DIR

    folder = tmp_path / "permit"
    shutil.copytree(BUILTIN_DIR / "certificate", folder)
    spec = json.loads((folder / "template.json").read_text())
    spec.update(name="permit", title={"th": "ใบอนุญาตพิเศษ", "en": "Special Permit"})
    (folder / "template.json").write_text(json.dumps(spec, ensure_ascii=False))
    AgencyService(api_home).add_template(OTHER_AGENCY, folder)
    doc = api_home.issuer(OTHER_AGENCY).issue("permit", example_data(api_home), lang="en")
    assert client.get(f"/v1/verify/{doc.id}").json()["document_type"] == "Special Permit"
    assert "Special Permit" in client.get(f"/verify/{doc.id}?lang=en").text
    # the other agency cannot issue it
    r = client.post("/v1/documents", json={"template": "permit", "data": example_data(api_home)},
                    headers=keys.issuer.headers)
    assert r.status_code == 404
