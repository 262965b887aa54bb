"""Downloads from an S3 store: a short-lived presigned URL instead of the bytes."""

from __future__ import annotations

import hashlib

import httpx
import pytest


@pytest.fixture
def api_settings(s3_config):
    return {
        "storage_backend": "s3",
        "s3_endpoint": s3_config.endpoint,
        "s3_access_key": s3_config.access_key,
        "s3_secret_key": s3_config.secret_key,
        "s3_bucket": s3_config.bucket,
        "s3_secure": False,
        "retention_mode": "COMPLIANCE",
        "retention_days": 1,
    }


def test_s3_store_redirects_to_a_presigned_url_that_downloads_the_file(client, keys, document):
    r = client.get(
        f"/v1/documents/{document['id']}/pdf?redirect=true", headers=keys.issuer.headers,
        follow_redirects=False,
    )
    assert r.status_code == 307
    direct = httpx.get(r.headers["location"], timeout=30)
    assert direct.status_code == 200
    assert hashlib.sha256(direct.content).hexdigest() == document["sha256"]
    events = [e.event for e in client.app.state.edoc.registry.audit.entries()]
    assert "document.downloaded" in events
