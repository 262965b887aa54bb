"""Signing latency with keys in a PKCS#11 token (SoftHSM2) against keys in memory.

Run: ``.venv/bin/python bench/hsm_sign.py [N]``. Prints milliseconds per raw
signature (the token call alone) and per B-B seal of a one-page PDF, for
RSA-3072 and ECDSA P-256, single-threaded and from 8 threads.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODULE = os.environ.get("SOFTHSM2_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
PIN = "bench-pin"


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 760, "benchmark")
    c.showPage()
    c.save()
    return buf.getvalue()


def _ms(fn, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[18] if n >= 20 else max(
        times
    )


def _threaded(fn, n: int, threads: int = 8) -> float:
    t = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: fn(), range(n)))
    return n / (time.perf_counter() - t)


def main(n: int = 200) -> None:
    from bench._common import install_patches

    install_patches()  # as the edoc CLI does at start-up
    workdir = Path(tempfile.mkdtemp(prefix="edoc-bench-hsm-"))
    (workdir / "tokens").mkdir()
    conf = workdir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {workdir / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    os.environ["EDOC_PKCS11_PIN"] = PIN
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "bench",
            "--pin",
            PIN,
            "--so-pin",
            PIN + "-so",
        ],
        check=True,
        capture_output=True,
    )

    from datetime import UTC, datetime

    from certs.keys import generate_private_key
    from certs.pkcs11 import Pkcs11KeyConfig, Pkcs11Token
    from certs.profiles import build_certificate, subject_name
    from signing.keys import in_memory_signer
    from signing.pkcs11_signer import Pkcs11Signer
    from signing.seal import Sealer, SealSettings

    token = Pkcs11Token.open(
        Pkcs11KeyConfig(
            module=MODULE, token_label="bench", key_label="-", pin_env="EDOC_PKCS11_PIN"
        )
    )
    pdf = _pdf()
    print(f"{'':28}{'median ms':>10}{'p95 ms':>9}{'per s, 8 threads':>18}")
    for key_type in ("rsa-3072", "ecdsa-p256"):
        key = token.generate_key(key_type, label=f"bench-{key_type}")
        ca_key = generate_private_key("ecdsa-p256")
        name = subject_name("Bench Seal", "Bench")
        cert = build_certificate(
            "seal",
            subject=name,
            public_key=key.public_key(),
            issuer_name=name,
            issuer_key=ca_key,
            issuer_public_key=ca_key.public_key(),
            urls=None,
            issuer_label=None,
            now=datetime.now(UTC),
        )
        memory_key = generate_private_key(key_type)
        sign_token = lambda key=key: key.sign(b"signed attributes", "sha256")  # noqa: E731
        med, p95 = _ms(sign_token, n)
        print(
            f"{key_type + ' token signature':28}{med:10.2f}{p95:9.2f}{_threaded(sign_token, n):18.0f}"
        )
        for label, signer in (
            ("token", Pkcs11Signer(key=key, cert=cert)),
            ("memory", in_memory_signer(cert, memory_key, [])),
        ):
            sealer = Sealer(SealSettings(level="B-B", signature_size=16384), signer=signer)
            seal = lambda sealer=sealer: sealer.seal(pdf)  # noqa: E731
            med, p95 = _ms(seal, max(20, n // 5))
            rate = _threaded(seal, max(20, n // 5))
            print(f"{key_type + ' seal, key in ' + label:28}{med:10.2f}{p95:9.2f}{rate:18.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
