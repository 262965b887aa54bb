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


def make_home(root: Path, **settings):
    """A fresh home for benchmarking (ECDSA P-256 unless told otherwise)."""
    from edoc.home import Home
    from edoc.settings import Settings

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


def tempdir(prefix: str) -> Path:
    """A temporary folder, removed at exit."""
    import atexit

    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


def check_outputs(home, pdfs: list[bytes], workdir: Path) -> None:
    """Refuse to print figures unless sample outputs pass pyHanko, pdfsig and openssl ts."""
    from edoc.verification import Verifier

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
        if "Signature is Valid." not in out:
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
