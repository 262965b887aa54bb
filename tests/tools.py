"""Independent tools the tests compare our output with: pdfsig (NSS), openssl, qpdf, pdftotext."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization


def require(tool: str) -> str:
    """Path of a Debian tool; fail (in CI) or skip (elsewhere) when it is missing."""
    import os

    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed; .ci/run must install it")
        pytest.skip(f"{tool} is not installed")
    return path


def run(*args: str | Path, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run a tool and capture its output as text."""
    proc = subprocess.run(
        [str(a) for a in args], input=input, capture_output=True, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{args[0]} exited {proc.returncode}:\n{proc.stdout.decode(errors='replace')}"
            f"\n{proc.stderr.decode(errors='replace')}"
        )
    return proc


def write_pem(path: Path, certs: list[x509.Certificate]) -> Path:
    """Write certificates as one PEM file."""
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


def nss_db(directory: Path, roots: list[x509.Certificate]) -> str:
    """An NSS database trusting ``roots``; returns the ``sql:`` path pdfsig takes."""
    require("certutil")
    directory.mkdir(parents=True, exist_ok=True)
    run("certutil", "-N", "-d", f"sql:{directory}", "--empty-password")
    for i, root in enumerate(roots):
        pem = write_pem(directory / f"root{i}.pem", [root])
        run("certutil", "-A", "-d", f"sql:{directory}", "-n", f"root{i}", "-t", "CT,C,C", "-i", pem)
    return f"sql:{directory}"


def pdfsig(pdf: Path, nssdir: str) -> str:
    """pdfsig's report on a file; NSS asks the OCSP responder in the certificate's AIA.

    (``-no-ocsp`` is no way out: poppler 22 then reports "Unknown issue with
    Certificate" even for a trusted chain, so the tests serve OCSP on loopback.)
    """
    require("pdfsig")
    proc = run("pdfsig", "-nssdir", nssdir, pdf, check=False)
    return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
