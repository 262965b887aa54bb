"""Every error is problem+json a developer can act on; /healthz and /metrics report the service."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from edoc.errors import ConfigurationError
from signing.errors import TimestampError

PROBLEM = "application/problem+json"


def _is_problem(r, status: int, kind: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"] == f"https://edoc.dev/problems/{kind}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_unknown_route_is_a_404_problem(client):
    body = _is_problem(client.get("/v1/nothing-here"), 404, "not-found")
    assert "/docs" in body["detail"]


def test_wrong_method_is_a_405_problem_naming_the_allowed_ones(client):
    r = client.delete("/v1/documents")
    body = _is_problem(r, 405, "method-not-allowed")
    assert "GET" in body["detail"] and "POST" in body["detail"]
    assert "GET" in r.headers["allow"]


@pytest.fixture
def failing_client(app):
    """The app with routes that fail unexpectedly, without re-raising into the test."""

    @app.get("/boom")
    def boom():
        raise RuntimeError("connection string postgresql://edoc:hunter2@db/edoc")

    @app.get("/tsa-down")
    def tsa_down():
        raise TimestampError("http://tsa.example: connection refused")

    @app.get("/misconfigured")
    def misconfigured():
        raise ConfigurationError("emblem /etc/edoc/secret-path.png is missing")

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_unexpected_error_is_a_500_problem_without_internals(failing_client, caplog):
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        r = failing_client.get("/boom")
    body = _is_problem(r, 500, "internal")
    assert "hunter2" not in r.text and "Traceback" not in r.text
    assert body["reference"] in body["detail"]
    assert body["reference"] in caplog.text and "hunter2" in caplog.text  # the operator sees it


def test_unreachable_tsa_is_a_503_to_retry(failing_client):
    body = _is_problem(failing_client.get("/tsa-down"), 503, "tsa-unavailable")
    assert "retry" in body["detail"] and "tsa.example" not in body["detail"]


def test_server_side_domain_error_hides_its_details(failing_client):
    r = failing_client.get("/misconfigured")
    _is_problem(r, 500, "configuration")
    assert "secret-path" not in r.text


def test_problems_are_documented_in_openapi(client):
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/v1/documents"]["post"]["responses"]
    assert {"201", "200", "409", "422"} <= set(responses)
    assert "Problem" in spec["components"]["schemas"]


# -- health and metrics ------------------------------------------------------------------------


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_healthz_reports_an_unreachable_registry(client, app, monkeypatch):
    def broken():
        raise OSError("database is gone")

    monkeypatch.setattr(app.state.edoc.registry.audit, "head", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/healthz")
    _is_problem(r, 503, "storage-unavailable")


def test_metrics_count_requests_issuance_and_verification(client, keys, document):
    client.get(f"/v1/verify/{document['id']}")
    client.get("/v1/verify/" + "z" * 26)
    client.post("/v1/verify", content=b"not a pdf", headers={"Content-Type": "application/pdf"})
    r = client.get("/metrics", headers=keys.admin.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'edoc_documents_issued_total{level="B-T",template="certificate"} 1.0' in text
    assert 'edoc_verifications_total{kind="id",outcome="issued"} 1.0' in text
    assert 'edoc_verifications_total{kind="id",outcome="unknown"} 1.0' in text
    assert 'edoc_verifications_total{kind="upload",outcome="invalid"} 1.0' in text
    # route templates, never raw ids, as labels
    assert 'edoc_http_requests_total{method="GET",route="/v1/verify/{doc_id}",status="200"} 1.0' in text
    assert 'route="/v1/verify/{doc_id}",status="404"' in text
    assert document["id"] not in text
    assert 'edoc_http_request_duration_seconds_count{method="POST",route="/v1/documents"} 1.0' in text


def test_unmatched_paths_share_one_label(client, keys):
    client.get("/a/b/c")
    client.get("/d/e/f")
    assert 'route="<unmatched>",status="404"} 2.0' in client.get("/metrics", headers=keys.admin.headers).text


def test_two_apps_in_one_process_keep_their_own_metrics(client, keys, make_app):
    with TestClient(make_app(metrics_access="public")) as other:
        other.get("/healthz")
        assert 'route="/healthz",status="200"} 1.0' in other.get("/metrics").text
    assert 'route="/healthz"' not in client.get("/metrics", headers=keys.admin.headers).text
