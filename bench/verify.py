"""Full verification throughput: the library's Verifier against a naive baseline, in one run.

Both check uploaded sealed PDFs end to end: signature, chain, timestamp,
modifications since sealing and the registry's word on the file digest, with
one process per core. Library path: ``Verifier.for_home`` built once per
process. Naive baseline: stock pyHanko with a fresh ``ValidationContext`` per
document (trust roots and intermediates loaded again), ``validate_pdf_signature``
and a registry lookup.

    python bench/verify.py --docs 2000 --baseline-docs 200 --corpus 50

Prints ``name: value`` lines. Every verified document must come out valid in
both paths, and sample documents are checked with pyHanko, pdfsig and
``openssl ts -verify`` before any figure is printed.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    PASSPHRASE,
    check_outputs,
    install_patches,
    machine,
    make_home,
    peak_rss_mb,
    print_figure,
    print_run,
    tempdir,
)
from bench.issuance import THAI_DATA_LANG, _data  # noqa: E402


def _open(home_dir: str):
    from edoc.home import Home
    from edoc.settings import Settings

    return Home.open(Settings(home=Path(home_dir), key_passphrase=PASSPHRASE))


def _corpus(corpus_dir: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted(Path(corpus_dir).glob("*.pdf"))]


def _library_worker(args) -> tuple[list[float], float, float]:
    home_dir, corpus_dir, count, start = args
    from edoc.verification import Verifier

    install_patches()  # as edoc serve and the CLI do at start-up
    home = _open(home_dir)
    verifier = Verifier.for_home(home)
    pdfs = _corpus(corpus_dir)
    verifier.verify(pdfs[0])  # warm-up
    # what start-up built stays out of the garbage collector's walks, as in edoc serve
    gc.collect()
    gc.freeze()
    latencies = []
    cpu0, wall0 = time.process_time(), time.time()
    for i in range(start, start + count):
        t0 = time.perf_counter()
        report = verifier.verify(pdfs[i % len(pdfs)])
        latencies.append(time.perf_counter() - t0)
        if report.verdict != "valid" or report.registry is None or report.registry.status != "issued":
            raise SystemExit(f"library path: document {i} came out {report.verdict}: {report.reasons}")
    return latencies, peak_rss_mb(), time.process_time() - cpu0, (wall0, time.time())


def _baseline_worker(args) -> tuple[list[float], float, float]:
    home_dir, corpus_dir, count, start = args
    import hashlib
    from io import BytesIO

    from asn1crypto import pem, x509
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from signing import _names, _pdfread

    # what this path always ran with: every patch but our hex-string reader and name
    # comparison (stock pyHanko and asn1crypto for those)
    install_patches()
    generic.read_hex_string_from_stream = _pdfread._pyhanko_reader
    _names.uninstall()
    home = _open(home_dir)
    registry = home.registry()
    pki_dir = home.settings.pki_dir
    pdfs = _corpus(corpus_dir)

    def certs(name: str) -> list:
        return [x509.Certificate.load(der) for _, _, der in pem.unarmor((pki_dir / name).read_bytes(), True)]

    PdfFileReader(BytesIO(pdfs[0]), strict=False).embedded_signatures[0]  # warm-up: imports
    latencies = []
    cpu0, wall0 = time.process_time(), time.time()
    for i in range(start, start + count):
        t0 = time.perf_counter()
        data = pdfs[i % len(pdfs)]
        vc = ValidationContext(
            trust_roots=certs("root-ca.pem"),
            other_certs=certs("issuing-ca.pem") + certs("tsa.pem"),
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        sig = PdfFileReader(BytesIO(data), strict=False).embedded_signatures[0]
        status = validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc)
        record = registry.find_by_sha256(hashlib.sha256(data).hexdigest())
        latencies.append(time.perf_counter() - t0)
        if not status.bottom_line or record is None or record.status != "issued":
            raise SystemExit(f"baseline: document {i} is not valid: {status.pretty_print_details()}")
    return latencies, peak_rss_mb(), time.process_time() - cpu0, (wall0, time.time())


def _run(worker, home_dir: Path, corpus_dir: Path, docs: int, processes: int):
    per = [docs // processes + (1 if i < docs % processes else 0) for i in range(processes)]
    starts = [sum(per[:i]) for i in range(processes)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(processes) as pool:
        pool.map(_noop, range(processes))  # imports happen before the clock starts
        results = pool.map(
            worker, [(str(home_dir), str(corpus_dir), n, s) for n, s in zip(per, starts, strict=True)]
        )
    latencies = [x for r in results for x in r[0]]
    # from the first worker's start to the last one's end, after each built its Home and warmed up
    elapsed = max(r[-1][1] for r in results) - min(r[-1][0] for r in results)
    cpu = sum(r[2] for r in results)
    return docs / elapsed, latencies, max(r[1] for r in results), docs / cpu


def _noop(_):
    import pyhanko.sign.validation  # noqa: F401

    import edoc.verification  # noqa: F401

    return os.getpid()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="verifications, library path")
    parser.add_argument("--baseline-docs", type=int, default=200, help="verifications, baseline")
    parser.add_argument("--corpus", type=int, default=50, help="distinct sealed documents")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--check", type=int, default=2, help="sample documents to check with tools")
    args = parser.parse_args(argv)
    install_patches()

    work = tempdir("edoc-bench-verify-")
    home = make_home(work / "home")
    issuer = home.issuer()
    corpus = work / "corpus"
    corpus.mkdir()
    for i in range(args.corpus):
        doc = issuer.issue("certificate", _data(home, i), lang=THAI_DATA_LANG)
        (corpus / f"{i:05d}.pdf").write_bytes(issuer.pdf(doc.record))
    check_outputs(home, _corpus(str(corpus))[: args.check], work)

    print_figure("machine", machine())
    print_figure("processes", args.processes)
    lib_rate, lib_lat, lib_rss, lib_cpu_rate = _run(
        _library_worker, home.path, corpus, args.docs, args.processes
    )
    base_rate, base_lat, base_rss, base_cpu_rate = _run(
        _baseline_worker, home.path, corpus, args.baseline_docs, args.processes
    )
    print_run("verify", args.docs, lib_rate, lib_cpu_rate, lib_lat, lib_rss)
    print_run("baseline", args.baseline_docs, base_rate, base_cpu_rate, base_lat, base_rss)
    print_figure("speedup_vs_baseline", lib_rate / base_rate)
    print_figure("outputs_checked", f"{min(args.check, args.corpus)} (pyHanko, pdfsig, openssl ts); "
                 "every verification valid in both paths")


if __name__ == "__main__":
    main()
