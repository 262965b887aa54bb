"""Verifying a document of another deployment: two `edoc serve` processes on loopback.

Deployment B (its own PKI, registry and port) issues and revokes a document;
deployment A trusts B's root (`edoc trust add`) and, with B on its allow-list
(EDOC_REMOTE_STATUS_ALLOW), asks B's public status API and answers "revoked".
Without B on the list, A says the seal is genuine and that the issuing registry
was not consulted. A deployment that redirects elsewhere is not followed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from edoc.home import Home
from edoc.remote_status import RemoteStatus
from edoc.verification import Verifier
from tests.api.test_serve import Served, _command, _free_port
from tests.certs.test_truststore import issue_pdf, other_deployment, root_of
from tests.fixtures.pki import PASSPHRASE


@contextmanager
def serve(home: Path, port: int, **env: str) -> Iterator[Served]:
    """`edoc serve` for ``home`` on ``port``, with extra environment variables."""
    values = {k: v for k, v in os.environ.items() if not k.startswith(("EDOC_", "PROMETHEUS_"))}
    # links follow the port served (edoc serve refuses a loopback URL it does not answer on)
    values.update(EDOC_HOME=str(home), EDOC_KEY_PASSPHRASE=PASSPHRASE,
                  EDOC_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", **env)
    proc = subprocess.Popen(_command("--port", str(port)), env=values,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        served = Served(proc, port)
        served.wait_healthy(timeout=120)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Stranger:
    """A loopback HTTP server on the allow-list that misbehaves: redirects, floods, stalls."""

    def __init__(self, redirect_to: str):
        self.requests: list[str] = []
        stranger = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                stranger.requests.append(self.path)
                if self.path.startswith(("/inside/v1/", "/outside/v1/")):
                    top = self.path.split("/")[1]
                    moved = "/inside/moved/" if top == "inside" else "/elsewhere/"
                    self.send_response(301)
                    self.send_header("Location", moved + self.path.rsplit("/", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/inside/moved/"):
                    doc_id = self.path.rsplit("/", 1)[1]
                    body = json.dumps({"id": doc_id, "status": "issued", "agency": "x"}).encode()
                elif self.path.startswith("/big/"):
                    body = json.dumps({"id": "x", "pad": "x" * 200_000}).encode()
                elif self.path.startswith("/slow/"):
                    time.sleep(3)
                    body = b"{}"
                else:
                    self.send_response(302)
                    self.send_header("Location", redirect_to + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the verifier stopped reading (size cap, timeout): as it should

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _verifier(home: Home, allow: list[str]) -> Verifier:
    settings = home.settings.model_copy(update={"remote_status_allow": allow})
    return Verifier.for_home(Home.open(settings))


@pytest.fixture
def deployment_b(tmp_path) -> tuple[Home, int]:
    port = _free_port()
    return other_deployment(tmp_path / "b", f"http://127.0.0.1:{port}"), port


def test_status_of_a_document_issued_and_revoked_elsewhere(make_home, deployment_b, run_edoc):
    b_home, b_port = deployment_b
    _, secret = b_home.registry().create_api_key(agency="agency-b", roles={"issuer"}, label="t")
    auth = {"Authorization": f"Bearer {secret}"}
    a_home = make_home()
    code, _, err = run_edoc(a_home, "trust", "add", str(root_of(b_home)), "--name", "agency-b")
    assert code == 0, err

    with serve(b_home.path, b_port) as b:
        data = b_home.templates().get("certificate").examples["en"]
        r = httpx.post(f"{b.url}/v1/documents", headers=auth, timeout=120,
                       json={"template": "certificate", "data": data, "lang": "en"})
        assert r.status_code == 201, r.text
        doc_id = r.json()["id"]
        pdf = httpx.get(f"{b.url}/v1/documents/{doc_id}/pdf", headers=auth, timeout=30).content
        r = httpx.post(f"{b.url}/v1/documents/{doc_id}/revoke", headers=auth, timeout=30,
                       json={"reason": "issued in error"})
        assert r.status_code == 200, r.text

        with serve(a_home.path, _free_port(), EDOC_REMOTE_STATUS_ALLOW=b.url) as a:
            r = httpx.post(f"{a.url}/v1/verify", content=pdf, timeout=120,
                           headers={"Content-Type": "application/pdf"})
            assert r.status_code == 200, r.text
            report = r.json()
            assert report["verdict"] == "invalid"
            assert report["registry"]["status"] == "revoked"
            assert report["registry"]["document_id"] == doc_id
            assert report["registry"]["issuing_agency"] == "agency-b"
            assert report["signatures"][0]["trust_anchor"] == "agency-b"
            assert report["details"]["issuing_registry"] == {"consulted": True, "url": b.url}
            assert f"status from the issuing registry at {b.url}." in " ".join(report["reasons"])
            assert "The issuing agency revoked this document." in report["reasons"]

            page = httpx.post(f"{a.url}/verify", files={"file": ("b.pdf", pdf, "application/pdf")},
                              timeout=120)
            assert page.status_code == 200
            assert "สถานะได้จากทะเบียนของหน่วยงานผู้ออกที่" in page.text
            assert "เอกสารนี้ถูกเพิกถอนแล้ว" in page.text

        # B is not on the allow-list: the seal is genuine, the issuer was not asked
        with serve(a_home.path, _free_port()) as a:
            r = httpx.post(f"{a.url}/v1/verify", content=pdf, timeout=120,
                           headers={"Content-Type": "application/pdf"})
            report = r.json()
            assert report["verdict"] == "valid"
            assert report["registry"]["status"] == "unknown"
            assert report["details"]["issuing_registry"]["consulted"] is False
            assert report["signatures"][0]["trust_anchor"] == "agency-b"
            assert any(r.startswith("Genuinely sealed by") and "trusted via agency-b" in r
                       and r.endswith("the issuing registry was not consulted.")
                       for r in report["reasons"])
            page = httpx.post(f"{a.url}/verify", files={"file": ("b.pdf", pdf, "application/pdf")},
                              timeout=120)
            assert "ไม่ได้ตรวจสอบสถานะกับทะเบียนของหน่วยงานผู้ออก" in page.text
            page = httpx.post(f"{a.url}/verify?lang=en",
                              files={"file": ("b.pdf", pdf, "application/pdf")}, timeout=120)
            assert "the issuing registry was not consulted." in page.text


def test_redirects_to_another_host_are_not_followed(make_home, deployment_b, run_edoc):
    b_home, b_port = deployment_b
    a_home = make_home()
    assert run_edoc(a_home, "trust", "add", str(root_of(b_home)), "--name", "agency-b")[0] == 0
    with serve(b_home.path, b_port) as b:
        stranger = Stranger(redirect_to=b.url)
        try:
            # a document of B's registry whose verification URL is the stranger's
            moved = Home(b_home.settings.model_copy(update={"public_base_url": stranger.url}))
            doc_id, pdf = issue_pdf(moved)
            assert httpx.get(f"{b.url}/v1/verify/{doc_id}").json()["status"] == "issued"

            report = _verifier(a_home, [stranger.url]).verify(pdf)
            assert stranger.requests == [f"/v1/verify/{doc_id}"]
            assert report.registry is not None and report.registry.status == "unknown"
            issuing = report.details["issuing_registry"]
            assert issuing["consulted"] is False
            assert issuing["problem"].startswith("it redirected to another host")
            assert any("could not be consulted: it redirected to another host" in r
                       for r in report.reasons)

            # the answer is capped in size and time
            remote = RemoteStatus([f"{stranger.url}/big", f"{stranger.url}/slow"], timeout=0.5)
            assert remote.fetch(f"{stranger.url}/big", doc_id).problem == "its answer was too large"
            started = time.monotonic()
            slow = remote.fetch(f"{stranger.url}/slow", doc_id)
            assert slow.problem is not None and "could not be reached" in slow.problem
            assert time.monotonic() - started < 2.5
            # a redirect within the deployment's own base URL is followed, one outside it not
            inside = RemoteStatus([f"{stranger.url}/inside", f"{stranger.url}/outside"])
            followed = inside.fetch(f"{stranger.url}/inside", doc_id)
            assert followed.status is not None and followed.status.status == "issued"
            outside = inside.fetch(f"{stranger.url}/outside", doc_id)
            assert outside.status is None
            assert (outside.problem or "").startswith("it redirected outside its base URL")
            # never a URL off the list
            with pytest.raises(ValueError):
                remote.fetch(b.url, doc_id)
            assert remote.deployment_for(f"{b.url}/verify/{doc_id}") is None
            assert remote.deployment_for(f"{stranger.url}/bigger/verify/{doc_id}") is None
        finally:
            stranger.close()


def test_answers_are_cached_briefly(deployment_b):
    b_home, b_port = deployment_b
    doc_id, _ = issue_pdf(b_home)
    remote = RemoteStatus([f"http://127.0.0.1:{b_port}"], ttl=60)
    with serve(b_home.path, b_port) as b:
        first = remote.fetch(b.url, doc_id)
        assert first.status is not None and first.status.status == "issued"
        assert remote.fetch(b.url, "no-such-document-id").status.status == "unknown"
    # B is gone; the cached answer stands for a while, a new question fails fast
    assert remote.fetch(b.url, doc_id) == first
    missing = RemoteStatus([b.url]).fetch(b.url, doc_id)
    assert missing.status is None and "could not be reached" in (missing.problem or "")
