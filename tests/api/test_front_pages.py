"""``GET /`` (the landing page) and ``/docs`` (Swagger UI) answered from this service's own files."""

from __future__ import annotations

import re


def test_docs_page_loads_swagger_ui_from_this_service(client):
    r = client.get("/docs")
    assert r.status_code == 200
    html = r.text
    assert "cdn." not in html and "https://" not in html.replace("https://edoc.dev", "")
    refs = re.findall(r"""['"](/docs/assets/[^'"]+)['"]""", html)
    assert {ref.rsplit("/", 1)[1] for ref in refs} == {"swagger-ui-bundle.js", "swagger-ui.css",
                                                      "favicon-32x32.png"}
    for ref in refs:
        asset = client.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 500, ref
    assert client.get("/docs/assets/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
    assert client.get("/docs/assets/nothing.js").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"] == "edoc"


def test_landing_page_in_thai_then_english(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-language"] == "th"
    assert "บริการเอกสารราชการอิเล็กทรอนิกส์" in r.text
    assert 'href="/verify?lang=th"' in r.text and 'href="/docs"' in r.text
    en = client.get("/?lang=en")
    assert en.headers["content-language"] == "en" and "Official electronic documents" in en.text
    assert 'href="/verify?lang=en"' in en.text
    assert "default-src 'none'" in r.headers["content-security-policy"]
