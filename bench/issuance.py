"""End-to-end issuance throughput: the library path against a naive baseline, in one run.

Library path: render the built-in certificate with Thai data, seal at B-T with
the built-in TSA, store, register — with every core, one process per core,
each building its Home once. Naive baseline: the same render, then stock
pyHanko signing with ``SimpleSigner.load`` from the key file for every
document and a fresh in-process timestamper, signature size estimated by
pyHanko (it signs twice), then store + register.

    python bench/issuance.py --docs 2000 --baseline-docs 100

Prints ``name: value`` lines; sample outputs are checked with pyHanko, pdfsig
and ``openssl ts -verify`` before any figure is printed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    PASSPHRASE,
    check_outputs,
    machine,
    make_home,
    peak_rss_mb,
    percentile,
    print_figure,
    tempdir,
)

THAI_DATA_LANG = "th"


def _data(home, i: int) -> dict:
    data = dict(home.templates().get("certificate").examples[THAI_DATA_LANG])
    holder = dict(data.get("holder", {})) if isinstance(data.get("holder"), dict) else None
    if holder is not None and "name" in holder:
        holder["name"] = f"{holder['name']} {i}"
        data["holder"] = holder
    return data


def _library_worker(args) -> tuple[list[float], float, list[bytes]]:
    home_dir, count, start, keep = args
    from edoc.home import Home
    from edoc.settings import Settings

    home = Home.open(Settings(home=Path(home_dir), key_passphrase=PASSPHRASE))
    issuer = home.issuer()
    issuer.issue("certificate", _data(home, -start - 1))  # warm-up: fonts, keys, caches
    latencies, samples = [], []
    for i in range(start, start + count):
        t0 = time.perf_counter()
        doc = issuer.issue("certificate", _data(home, i), lang=THAI_DATA_LANG)
        latencies.append(time.perf_counter() - t0)
        if len(samples) < keep:
            samples.append(issuer.pdf(doc.record))
    return latencies, peak_rss_mb(), samples


def _baseline_worker(args) -> tuple[list[float], float, list[bytes]]:
    home_dir, count, start, keep = args
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from edoc.home import Home
    from edoc.issuance import new_document_id
    from edoc.render import render
    from edoc.settings import Settings
    from signing.timestamps import InProcessTimeStamper
    from storage.registry import DocumentRecord

    home = Home.open(Settings(home=Path(home_dir), key_passphrase=PASSPHRASE))
    pki_dir = home.settings.pki_dir
    from cryptography.hazmat.primitives import serialization

    seal_only = Path(home_dir) / f"seal-only-{os.getpid()}.pem"  # SimpleSigner.load wants one cert
    seal_only.write_bytes(home.pki.seal.cert.public_bytes(serialization.Encoding.PEM))
    template = home.templates().get("certificate")
    store, registry = home.store(), home.registry()
    latencies, samples = [], []
    from datetime import UTC, datetime

    for i in range(start, start + count):
        t0 = time.perf_counter()
        doc_id = new_document_id()
        rendered = render(
            template, _data(home, i), doc_id=doc_id, verify_url=f"http://x/verify/{doc_id}",
            agency=home.agency(), lang=THAI_DATA_LANG, issued_at=datetime.now(UTC),
        )
        signer = signers.SimpleSigner.load(
            str(pki_dir / "seal.key.pem"), str(seal_only),
            ca_chain_files=(str(pki_dir / "issuing-ca.pem"),), key_passphrase=PASSPHRASE.encode(),
        )
        meta = signers.PdfSignatureMetadata(
            field_name="edoc-seal", subfilter=fields.SigSeedSubFilter.PADES, certify=True,
            md_algorithm="sha256",
        )
        out = BytesIO()
        signers.PdfSigner(meta, signer=signer, timestamper=InProcessTimeStamper(home.tsa)).sign_pdf(
            IncrementalPdfFileWriter(BytesIO(rendered.pdf)), output=out
        )
        pdf = out.getvalue()
        stored = store.put(pdf)
        registry.record_issued(
            DocumentRecord(
                id=doc_id, agency="bench", template="certificate", title=rendered.title, lang="th",
                sha256=stored.sha256, size=stored.size, level="B-T",
                holder_masked=rendered.holder_masked, issued_at=datetime.now(UTC),
            )
        )
        latencies.append(time.perf_counter() - t0)
        if len(samples) < keep:
            samples.append(pdf)
    return latencies, peak_rss_mb(), samples


def _run(worker, home_dir: Path, docs: int, processes: int, keep: int):
    per = [docs // processes + (1 if i < docs % processes else 0) for i in range(processes)]
    starts = [sum(per[:i]) for i in range(processes)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(processes) as pool:
        # the pool's processes start (imports) before the clock does
        pool.map(_noop, range(processes))
        t0 = time.perf_counter()
        results = pool.map(worker, [(str(home_dir), n, s, keep) for n, s in zip(per, starts, strict=True)])
        elapsed = time.perf_counter() - t0
    latencies = [x for r in results for x in r[0]]
    return docs / elapsed, latencies, max(r[1] for r in results), [s for r in results for s in r[2]]


def _noop(_):
    import edoc.home  # noqa: F401  (import cost stays out of the measurement)

    return os.getpid()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--baseline-docs", type=int, default=100)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--check", type=int, default=3, help="sample outputs to check per path")
    args = parser.parse_args(argv)

    work = tempdir("edoc-bench-")
    home = make_home(work / "home")
    home.registry()  # migrate once before the workers start
    print_figure("machine", machine())
    print_figure("processes", args.processes)

    lib_rate, lib_lat, lib_rss, lib_samples = _run(
        _library_worker, home.path, args.docs, args.processes, args.check
    )
    base_rate, base_lat, base_rss, base_samples = _run(
        _baseline_worker, home.path, args.baseline_docs, args.processes, 1
    )
    check_outputs(home, lib_samples[: args.check] + base_samples[:1], work)

    print_figure("issuance_docs", args.docs)
    print_figure("issuance_docs_per_s", lib_rate)
    print_figure("issuance_p50_ms", percentile(lib_lat, 50) * 1000)
    print_figure("issuance_p99_ms", percentile(lib_lat, 99) * 1000)
    print_figure("issuance_peak_rss_mb_per_process", lib_rss)
    print_figure("baseline_docs", args.baseline_docs)
    print_figure("baseline_docs_per_s", base_rate)
    print_figure("baseline_p50_ms", percentile(base_lat, 50) * 1000)
    print_figure("baseline_p99_ms", percentile(base_lat, 99) * 1000)
    print_figure("baseline_peak_rss_mb_per_process", base_rss)
    print_figure("speedup_vs_baseline", lib_rate / base_rate)
    print_figure("outputs_checked", f"{len(lib_samples[: args.check]) + 1} (pyHanko, pdfsig, openssl ts)")


if __name__ == "__main__":
    main()
