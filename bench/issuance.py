"""End-to-end issuance throughput: the library path against a naive baseline, in one run.

Library path: render the built-in certificate with Thai data, seal at B-T with
the built-in TSA, store, register — with every core, one process per core,
each building its Home once and freezing it out of the garbage collector's
walks (as ``edoc serve`` does). Naive baseline: the same render with its caches
emptied before every document (stock ReportLab shapes the text, subsets the
fonts and compresses them for every document), then stock pyHanko signing with
``SimpleSigner.load`` from the key file for every document, the built-in TSA
in-process on a stock ``SimpleSigner`` (loaded once per process) asked through
pyHanko's own timestamp request and response, the signature
size estimated by pyHanko (it signs twice), then store + register.

``--key-type`` runs both on other keys: the default home is ECDSA P-256, whose
keys pyHanko re-loads in well under a millisecond; ``rsa-2048`` is the key the
issue's naive pipeline was measured with (~4-5 documents/s per process, its
key parsed in ~45 ms every time), ``rsa-3072`` costs 1.8 ms per signature.

    python bench/issuance.py --docs 2000 --baseline-docs 100

The two paths run in alternation (``--rounds``, default 2: library, baseline,
baseline, library), each half of its documents per round, so that a shared
machine getting slower or faster during the run does not favour either.

Prints ``name: value`` lines (``*_per_cpu_s``: documents per CPU-second of
the worker processes, which a busy shared machine does not skew); sample outputs are checked with pyHanko, pdfsig
and ``openssl ts -verify`` before any figure is printed.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass
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
from certs.keys import KEY_TYPES  # noqa: E402

THAI_DATA_LANG = "th"


# A batch of real certificates: every holder has another national id and, as Thai
# surnames are by law one per family, another family name (two parts from 45 each:
# 2,025 before one repeats), so caches of glyph subsets and compressed fonts get no
# more repeats than a real batch gives them. Given names and titles repeat, as they do.
_TITLES = ("นาย", "นางสาว", "นาง", "ว่าที่ร้อยตรี")
_GIVEN = ("ปิยะนุช", "สมชาย", "กิตติพงษ์", "ณัฐธิดา", "ฐิติมา", "วรวุฒิ", "พัชราภรณ์", "ธนพล",
          "ศุภชัย", "อัญชลี", "เฉลิมพล", "ปวีณ์ธิดา", "ภูมิพัฒน์", "จุฑามาศ", "ณัฐวุฒิ", "ฤทัยรัตน์", "ชยพล")
_FAMILY_HEAD = ("ศรี", "สุข", "วงศ์", "ธน", "บุญ", "แก้ว", "ทอง", "ฤทธิ์", "กิตติ", "ปัญญา", "โชติ",
                "เหลือง", "พึ่ง", "ใจ", "สม", "ชัย", "วัฒน", "ประ", "เจริญ", "มั่น", "รุ่ง", "เรือง", "พงษ์",
                "ศักดิ์", "สิทธิ์", "อินทร", "จันทร", "สุวรรณ", "รัตน", "นิล", "มณี", "เพชร", "พันธ์", "เกษม",
                "สวัสดิ์", "ประเสริฐ", "อุดม", "ภักดี", "สมบูรณ์", "วิไล", "จิตร", "ธรรม", "ศิริ", "นาค", "แสง")
_FAMILY_TAIL = ("สุข", "ดี", "สวัสดิ์", "กร", "บุญ", "ประเสริฐ", "เกษม", "คำ", "ญาธิการ", "เดช", "พันธุ์",
                "อ่อน", "วัฒน์", "วงศ์", "ช่วง", "ทอง", "ชัย", "ศรี", "รักษ์", "กุล", "ภิรมย์", "ไพศาล", "นคร",
                "ธานี", "สกุล", "เลิศ", "ศักดิ์", "เจริญ", "มงคล", "พร", "รัตน์", "วิทย์", "ไชย", "ธร", "สาร",
                "ศิลป์", "กิจ", "การ", "ยืน", "ยง", "นาม", "ทิพย์", "ฤทธิ์", "สถิตย์", "โสภณ")


def _thai_id(i: int) -> str:
    body = f"{1 + i % 8}{(1_000_000_000 + i * 7919) % 10**11:011d}"
    check = (11 - sum(int(d) * (13 - k) for k, d in enumerate(body)) % 11) % 10
    return body + str(check)


def _data(home, i: int) -> dict:
    """The Thai certificate example for holder number ``i`` of a batch."""
    data = dict(home.templates().get("certificate").examples[THAI_DATA_LANG])
    heads, tails = len(_FAMILY_HEAD), len(_FAMILY_TAIL)
    family = _FAMILY_HEAD[i % heads] + _FAMILY_TAIL[(i // heads) % tails]
    name = f"{_TITLES[i % len(_TITLES)]}{_GIVEN[i % len(_GIVEN)]} {family}"
    data["holder"] = {**data["holder"], "name": name, "national_id": _thai_id(abs(i))}
    return data


# Set in each pool process by _share: the next unclaimed document number, and the
# barrier every worker waits at once warmed up, so that they start together.
_shared: dict = {}


def _share(counter, barrier) -> None:
    _shared["next"], _shared["start"] = counter, barrier


def _start() -> tuple[float, float]:
    """Wait for the other workers, then start the clocks (CPU, wall)."""
    _shared["start"].wait()
    return time.process_time(), time.time()


def _claimed(total: int):
    """Document numbers for this worker, claimed one at a time until all ``total`` are.

    As a job queue would: a worker the machine slows down takes fewer, and at the
    end a core idles for at most one document while the other finishes its own.
    """
    counter = _shared["next"]
    while True:
        with counter.get_lock():
            number = counter.value
            counter.value = number + 1
        if number >= total:
            return
        yield number


def _library_worker(args) -> tuple[list[float], float, list[bytes]]:
    home_dir, total, keep = args
    from edoc.home import Home
    from edoc.settings import Settings

    install_patches()  # as edoc serve and the CLI do at start-up
    home = Home.open(Settings(home=Path(home_dir), key_passphrase=PASSPHRASE))
    issuer = home.issuer()
    issuer.issue("certificate", _data(home, -os.getpid()))  # warm-up: fonts, keys, caches
    # what start-up built stays out of the garbage collector's walks, as in edoc serve
    gc.collect()
    gc.freeze()
    latencies, samples = [], []
    cpu0, wall0 = _start()
    for i in _claimed(total):
        t0 = time.perf_counter()
        doc = issuer.issue("certificate", _data(home, i), lang=THAI_DATA_LANG)
        latencies.append(time.perf_counter() - t0)
        if len(samples) < keep:
            samples.append(issuer.pdf(doc.record))
    return latencies, peak_rss_mb(), samples, time.process_time() - cpu0, (wall0, time.time())


def _baseline_worker(args) -> tuple[list[float], float, list[bytes]]:
    home_dir, total, keep = args
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import TimeStamper

    from edoc.home import Home
    from edoc.issuance import new_document_id
    from edoc.render import clear_caches, render
    from edoc.settings import Settings
    from storage.registry import DocumentRecord

    class RequestTimeStamper(TimeStamper):
        """pyHanko's own protocol (request with nonce, response, checks) against the built-in TSA."""

        def __init__(self, tsa):
            super().__init__()
            self._tsa = tsa

        async def async_request_tsa_response(self, req):
            return await self._tsa.async_respond_request(req)

    from signing import _names

    # what this path always ran with: the patches edoc.issuance and edoc.render used to
    # install when imported, but not asn1crypto's name comparison
    install_patches()
    _names.uninstall()
    home = Home.open(Settings(home=Path(home_dir), key_passphrase=PASSPHRASE))
    pki_dir = home.settings.pki_dir
    from cryptography.hazmat.primitives import serialization

    seal_only = Path(home_dir) / f"seal-only-{os.getpid()}.pem"  # SimpleSigner.load wants one cert
    seal_only.write_bytes(home.pki.seal.cert.public_bytes(serialization.Encoding.PEM))
    tsa_only = Path(home_dir) / f"tsa-only-{os.getpid()}.pem"
    tsa_only.write_bytes(home.pki.tsa.cert.public_bytes(serialization.Encoding.PEM))
    from signing.serials import SerialCounter
    from signing.tsa import TimeStampAuthority, TsaSettings

    # the in-process TSA on a stock pyHanko signer (loaded once per process)
    stock_tsa = TimeStampAuthority(
        signer=signers.SimpleSigner.load(
            str(pki_dir / "tsa.key.pem"), str(tsa_only),
            ca_chain_files=(str(pki_dir / "issuing-ca.pem"),), key_passphrase=PASSPHRASE.encode(),
        ),
        serials=SerialCounter(pki_dir / "tsa-serial"),
        settings=TsaSettings(policy_oid=home.settings.tsa_policy_oid),
    )
    template = home.templates().get("certificate")
    store, registry = home.store(), home.registry()
    latencies, samples = [], []
    from datetime import UTC, datetime

    render(  # warm-up, as the library path gets: fonts and shaping caches
        template, _data(home, -1), doc_id=new_document_id(), verify_url="http://x/verify/x",
        agency=home.agency(), lang=THAI_DATA_LANG, issued_at=datetime.now(UTC),
    )
    cpu0, wall0 = _start()
    for i in _claimed(total):
        t0 = time.perf_counter()
        doc_id = new_document_id()
        clear_caches()  # stock ReportLab shapes, subsets and compresses for every document
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
        signers.PdfSigner(meta, signer=signer, timestamper=RequestTimeStamper(stock_tsa)).sign_pdf(
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
    return latencies, peak_rss_mb(), samples, time.process_time() - cpu0, (wall0, time.time())


@dataclass
class _Batch:
    """What one pool of workers did: documents, wall and CPU seconds, latencies, RSS, samples."""

    docs: int
    elapsed: float
    cpu: float
    latencies: list[float]
    rss: float
    samples: list[bytes]


def _run(worker, home_dir: Path, first: int, docs: int, processes: int, keep: int) -> _Batch:
    ctx = mp.get_context("spawn")
    counter, barrier = ctx.Value("q", first), ctx.Barrier(processes)
    with ctx.Pool(processes, initializer=_share, initargs=(counter, barrier)) as pool:
        # the pool's processes start (imports) before the clock does
        pool.map(_noop, range(processes))
        # one task per process: each waits at the barrier, so no process takes two
        results = pool.map(worker, [(str(home_dir), first + docs, keep)] * processes, chunksize=1)
    latencies = [x for r in results for x in r[0]]
    assert len(latencies) == docs
    return _Batch(
        docs=docs,
        # from the workers' common start (each built its Home and warmed up) to the last one's end
        elapsed=max(r[-1][1] for r in results) - min(r[-1][0] for r in results),
        cpu=sum(r[3] for r in results),
        latencies=latencies,
        rss=max(r[1] for r in results),
        samples=[s for r in results for s in r[2]],
    )


def _combined(batches: list[_Batch]):
    docs = sum(b.docs for b in batches)
    return (
        docs / sum(b.elapsed for b in batches),
        [x for b in batches for x in b.latencies],
        max(b.rss for b in batches),
        [s for b in batches for s in b.samples],
        docs / sum(b.cpu for b in batches),
    )


def _share_of(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def _noop(_):
    import edoc.home  # noqa: F401  (import cost stays out of the measurement)

    return os.getpid()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--baseline-docs", type=int, default=100)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--check", type=int, default=3, help="sample outputs to check per path")
    parser.add_argument("--key-type", default="ecdsa-p256", choices=KEY_TYPES)
    parser.add_argument("--rounds", type=int, default=2, help="library/baseline alternations")
    args = parser.parse_args(argv)
    install_patches()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    work = tempdir("edoc-bench-")
    home = make_home(work / "home", key_type=args.key_type)
    home.registry()  # migrate once before the workers start
    home.holder_link_key()  # created once here: two workers creating it at once would race
    print_figure("machine", machine())
    print_figure("processes", args.processes)
    print_figure("key_type", args.key_type)
    print_figure("rounds", f"{args.rounds} (library and baseline alternate: L B, B L, ...)")

    library: list[_Batch] = []
    baseline: list[_Batch] = []
    for r in range(args.rounds):
        lib_docs = _share_of(args.docs, args.rounds, r)
        base_docs = _share_of(args.baseline_docs, args.rounds, r)
        runs = [
            (library, _library_worker, sum(b.docs for b in library), lib_docs, args.check),
            (baseline, _baseline_worker, 1_000_000 + sum(b.docs for b in baseline), base_docs, 1),
        ]
        for batches, worker, first, docs, keep in runs if r % 2 == 0 else runs[::-1]:
            if docs:
                batches.append(_run(worker, home.path, first, docs, args.processes, keep))
    lib_rate, lib_lat, lib_rss, lib_samples, lib_cpu_rate = _combined(library)
    base_rate, base_lat, base_rss, base_samples, base_cpu_rate = _combined(baseline)
    check_outputs(home, lib_samples[: args.check] + base_samples[:1], work)

    print_run("issuance", args.docs, lib_rate, lib_cpu_rate, lib_lat, lib_rss)
    print_run("baseline", args.baseline_docs, base_rate, base_cpu_rate, base_lat, base_rss)
    print_figure("speedup_vs_baseline", lib_rate / base_rate)
    print_figure("speedup_vs_baseline_cpu", lib_cpu_rate / base_cpu_rate)
    print_figure("outputs_checked", f"{len(lib_samples[: args.check]) + 1} (pyHanko, pdfsig, openssl ts)")


if __name__ == "__main__":
    main()
