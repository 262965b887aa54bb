"""Issue 17, finding 2 over HTTP: uploads are verified in worker processes under budgets.

A hostile upload gets "too complex to verify" at once; one that runs on cannot
starve /healthz or issuance; a full queue answers 503 with Retry-After; a client
that goes away has its job dropped and its worker killed.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fuzz.hostile import many_signature_fields

from .conftest import example_data, serve_in_thread

PROBLEM = "application/problem+json"
#: every structural budget lifted, so that pyHanko grinds on the hostile file until the CPU limit
LIFTED = {
    "verify_max_objects_per_stream": 10**6,
    "verify_max_fields": 10**6,
    "verify_max_signatures": 10**6,
}


@pytest.fixture(scope="module")
def hostile() -> bytes:
    return many_signature_fields(8000)


def test_the_8000_field_upload_is_too_complex_and_answered_at_once(client, hostile):
    started = time.perf_counter()
    r = client.post("/v1/verify", content=hostile, headers={"Content-Type": "application/pdf"})
    seconds = time.perf_counter() - started
    assert r.status_code == 200
    report = r.json()
    assert report["verdict"] == "indeterminate"
    assert report["details"]["too_complex"]["budget"] == "objects_per_stream"
    assert seconds < 15, seconds  # a worker's start included; pyHanko alone took minutes
    page = client.post("/verify", files={"file": ("f.pdf", hostile, "application/pdf")})
    assert page.status_code == 200 and "ซับซ้อนเกินกว่าจะตรวจสอบได้" in page.text


def _children_cpu() -> float:
    """CPU seconds used so far by this process's children (the verification workers)."""
    import os

    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def test_a_long_verification_starves_neither_health_nor_issuance_and_the_queue_is_bounded(
    make_app, hostile
):
    app = make_app(**LIFTED, verify_max_cpu_seconds=8, verify_workers=1, verify_queue=0)
    state = app.state.edoc
    keys_home = state.home
    from .conftest import add_key

    issuer = add_key(keys_home, keys_home.settings.agency_id, "issuer")
    state.verify_pool.warm_up()
    for base in serve_in_thread(app):
        results: dict[str, httpx.Response] = {}

        def long_upload(base: str = base, results: dict = results) -> None:
            results["long"] = httpx.post(f"{base}/v1/verify", content=hostile, timeout=120,
                                         headers={"Content-Type": "application/pdf"})

        worker = threading.Thread(target=long_upload)
        worker.start()
        deadline = time.monotonic() + 30
        while state.verify_pool.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the worker is now deep in pyHanko
        assert state.verify_pool.in_flight == 1

        started = time.perf_counter()
        health = httpx.get(f"{base}/healthz", timeout=30)
        health_s = time.perf_counter() - started
        started = time.perf_counter()
        issued = httpx.post(f"{base}/v1/documents", headers=issuer.headers, timeout=60,
                            json={"template": "certificate", "lang": "th",
                                  "data": example_data(keys_home)})
        issue_s = time.perf_counter() - started
        busy = httpx.post(f"{base}/v1/verify", content=b"%PDF-1.7 small", timeout=30,
                          headers={"Content-Type": "application/pdf"})
        busy_page = httpx.post(f"{base}/verify", timeout=30,
                               files={"file": ("f.pdf", b"%PDF-1.7 small", "application/pdf")})
        worker.join(timeout=90)

        assert health.status_code == 200 and health_s < 3, health_s
        assert issued.status_code == 201 and issue_s < 10, issue_s
        assert busy.status_code == 503
        assert busy.headers["content-type"].startswith(PROBLEM)
        assert int(busy.headers["Retry-After"]) >= 1
        assert busy.json()["type"].endswith("verification-busy")
        assert busy_page.status_code == 503 and int(busy_page.headers["Retry-After"]) >= 1
        assert "โปรดลองใหม่อีกครั้งใน" in busy_page.text  # the page says so in Thai
        long = results["long"]
        assert long.status_code == 200
        assert long.json()["verdict"] == "indeterminate"
        assert long.json()["details"]["too_complex"]["budget"] == "cpu_seconds"
        print(f"while verifying: /healthz {health_s * 1000:.0f} ms, issuance {issue_s * 1000:.0f} ms")


def test_a_client_that_goes_away_has_its_verification_dropped(make_app, hostile):
    app = make_app(**LIFTED, verify_max_cpu_seconds=60, verify_workers=1, verify_queue=2)
    pool = app.state.edoc.verify_pool
    pool.warm_up()
    for base in serve_in_thread(app):
        url = urlsplit(base)
        conn = socket.create_connection((url.hostname, url.port))
        conn.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(hostile) + hostile)
        deadline = time.monotonic() + 30
        while pool.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        assert pool.in_flight == 1
        dropped = pool.dropped
        conn.close()  # the client goes away
        deadline = time.monotonic() + 10
        while pool.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.in_flight == 0 and pool.dropped == dropped + 1
        time.sleep(0.5)
        before = _children_cpu()
        time.sleep(1.5)
        assert _children_cpu() - before < 0.5  # nothing goes on burning CPU for it
        # and the pool works on: its worker was replaced
        r = httpx.post(f"{base}/v1/verify", content=b"not a pdf", timeout=60,
                       headers={"Content-Type": "application/pdf"})
        assert r.status_code == 200 and r.json()["verdict"] == "invalid"
