"""Downloads: large files stream in chunks, and an S3 store hands out short-lived direct URLs."""

from __future__ import annotations

import hashlib

import api.routes.documents as documents_route


def test_large_documents_stream_with_their_length(client, keys, document, monkeypatch):
    monkeypatch.setattr(documents_route, "STREAM_ABOVE", 0)  # treat every PDF as large
    with client.stream("GET", f"/v1/documents/{document['id']}/pdf", headers=keys.issuer.headers) as r:
        assert r.status_code == 200
        assert "chunked" not in r.headers.get("transfer-encoding", "")
        body = b"".join(r.iter_bytes())
    assert int(r.headers["content-length"]) == len(body)
    assert hashlib.sha256(body).hexdigest() == document["sha256"]


def test_local_store_has_no_direct_url_so_redirect_falls_back_to_the_file(client, keys, document):
    r = client.get(f"/v1/documents/{document['id']}/pdf?redirect=true", headers=keys.issuer.headers)
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
