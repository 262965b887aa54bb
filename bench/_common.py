"""Shared helpers for the benchmark scripts: a throwaway home, timing figures, output checks."""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from asn1crypto import cms

PASSPHRASE = "bench-passphrase"


def install_patches() -> None:
    """What every edoc entry point does first: the patches of other libraries (edoc.compat).

    Called by each script's ``main`` and by each worker process (spawned
    processes import afresh and get nothing installed by importing edoc).
    """
    from edoc import compat

    compat.install()


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_home(root: Path, **settings):
    """A fresh home for benchmarking (ECDSA P-256 unless told otherwise).

    Its public URL (written into the certificates' OCSP and CRL links) is a free
    loopback port, where :func:`check_outputs` answers for the home's CA.
    """
    from edoc.home import Home
    from edoc.settings import Settings

    settings.setdefault("public_base_url", f"http://127.0.0.1:{free_port()}")
    os.environ["EDOC_KEY_PASSPHRASE"] = PASSPHRASE
    return Home.create(Settings(home=root, key_passphrase=PASSPHRASE, **settings))


def machine() -> str:
    """One line naming the machine the figures come from."""
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node() or 'host'}: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) of values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(p) - 1))]


def print_figure(name: str, value, unit: str = "") -> None:
    """A figure as a plain ``name: value`` line."""
    if isinstance(value, float):
        value = f"{value:.2f}"
    print(f"{name}: {value}{(' ' + unit) if unit else ''}", flush=True)


def print_run(prefix: str, docs: int, rate: float, cpu_rate: float, latencies: list[float], rss: float) -> None:
    """The figures of one path (library or baseline) of a throughput benchmark."""
    print_figure(f"{prefix}_docs", docs)
    print_figure(f"{prefix}_docs_per_s", rate)
    print_figure(f"{prefix}_docs_per_cpu_s", cpu_rate)
    print_figure(f"{prefix}_p50_ms", percentile(latencies, 50) * 1000)
    print_figure(f"{prefix}_p99_ms", percentile(latencies, 99) * 1000)
    print_figure(f"{prefix}_peak_rss_mb_per_process", rss)


def tempdir(prefix: str) -> Path:
    """A temporary folder, removed at exit."""
    import atexit

    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


def check_outputs(home, pdfs: list[bytes], workdir: Path, *, serve_revocation: bool = True) -> None:
    """Refuse to print figures unless sample outputs pass pyHanko, pdfsig and openssl ts.

    pdfsig must find the seal valid *and* its certificate trusted, which it
    decides by asking the OCSP responder named in the certificate: with
    ``serve_revocation`` the home's CA answers at its public URL for the check
    (off when an ``edoc serve`` on that URL answers itself).
    """
    import contextlib

    from edoc.verification import Verifier

    with _revocation_responder(home) if serve_revocation else contextlib.nullcontext():
        _check_outputs(home, pdfs, workdir, Verifier)


def _check_outputs(home, pdfs: list[bytes], workdir: Path, Verifier) -> None:  # noqa: N803
    verifier = Verifier(policy=home.trust_policy())
    root = workdir / "root.pem"
    chain = workdir / "chain.pem"
    from cryptography.hazmat.primitives import serialization

    root.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in home.pki.trust_anchors))
    chain.write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in home.pki.tsa.chain)
    )
    nss = workdir / "nss"
    nss.mkdir(exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "root", "-t", "CT,C,C", "-i", root],
        check=True, capture_output=True,
    )
    for i, pdf in enumerate(pdfs):
        report = verifier.verify(pdf)
        if report.verdict != "valid":
            raise SystemExit(f"sample {i} is not valid: {report.reasons}")
        path = workdir / f"sample{i}.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", path], capture_output=True, text=True).stdout
        if "Signature is Valid." not in out or "Certificate is Trusted." not in out:
            raise SystemExit(f"pdfsig does not accept sample {i}:\n{out}")
        token, digest = _signature_timestamp(pdf)
        tok = workdir / f"sample{i}.tst"
        tok.write_bytes(token)
        proc = subprocess.run(
            ["openssl", "ts", "-verify", "-token_in", "-in", tok, "-digest", digest,
             "-CAfile", root, "-untrusted", chain],
            capture_output=True, text=True,
        )
        if "Verification: OK" not in proc.stdout:
            raise SystemExit(f"openssl ts does not accept sample {i}'s timestamp:\n{proc.stderr}")


def _signature_timestamp(pdf: bytes) -> tuple[bytes, str]:
    """The signature timestamp token of a sealed PDF and the digest it must cover."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    sig = PdfFileReader(BytesIO(pdf)).embedded_signatures[0]
    signer_info = sig.signed_data["signer_infos"][0]
    for attr in signer_info["unsigned_attrs"]:
        if attr["type"].native == "signature_time_stamp_token":
            token: cms.ContentInfo = attr["values"][0]
            digest = hashlib.sha256(signer_info["signature"].native).hexdigest()
            return token.dump(), digest
    raise SystemExit("sealed sample has no signature timestamp")


def _revocation_responder(home):
    """The home CA's OCSP and CRL answers over HTTP at its public URL, while in use."""
    import base64
    import contextlib
    import threading
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    service = home.revocation()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # noqa: N802
            der = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(service.ocsp_response(der), "application/ocsp-response")

        def do_GET(self):  # noqa: N802
            if self.path.startswith("/ocsp/"):
                der = base64.b64decode(urllib.parse.unquote(self.path[len("/ocsp/"):]))
                self._send(service.ocsp_response(der), "application/ocsp-response")
            elif self.path.endswith(".crl"):
                name = self.path.rsplit("/", 1)[1][: -len(".crl")]
                self._send(service.current_crl(name), "application/pkix-crl")
            else:
                self._send(b"", "text/plain", 404)

        def log_message(self, *args):
            pass

    @contextlib.contextmanager
    def serving():
        url = urllib.parse.urlsplit(home.settings.public_base_url)
        server = ThreadingHTTPServer((url.hostname, url.port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()

    return serving()
