"""Every bench/ script still runs end to end (at a tiny size) and prints its figures.

The scripts check samples of their own outputs with pyHanko, pdfsig and
``openssl ts -verify`` before printing, so a passing run also means the
optimised paths still produce documents those tools accept.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.bench


def _figures(script: str, *args: str, timeout: int = 300) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = {}
    for line in proc.stdout.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            figures[name] = value
    return figures


def _positive(figures: dict[str, str], *names: str) -> None:
    for name in names:
        assert float(figures[name].split()[0]) > 0, (name, figures)


def test_issuance_bench_prints_library_and_baseline_figures():
    f = _figures("issuance.py", "--docs", "4", "--baseline-docs", "2", "--check", "1")
    _positive(f, "issuance_docs_per_s", "issuance_docs_per_cpu_s", "issuance_p50_ms", "issuance_p99_ms",
              "issuance_peak_rss_mb_per_process", "baseline_docs_per_s", "speedup_vs_baseline")
    assert "pdfsig" in f["outputs_checked"]


def test_verify_bench_prints_library_and_baseline_figures():
    f = _figures("verify.py", "--docs", "4", "--baseline-docs", "2", "--corpus", "2", "--check", "1")
    _positive(f, "verify_docs_per_s", "verify_p50_ms", "verify_p99_ms", "baseline_docs_per_s",
              "speedup_vs_baseline")


def test_seal_scaling_bench_prints_seal_and_hash_times():
    f = _figures("seal_scaling.py", "--pages", "1,2", "--sizes-mb", "0.2", "--repeat", "1")
    _positive(f, "pages_1_seal_cpu_ms", "pages_2_seal_cpu_ms", "mb_0.2_seal_cpu_ms", "mb_0.2_sha256_cpu_ms")


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install wrk)")
def test_api_bench_prints_http_figures():
    f = _figures("api.py", "--duration", "1", "--ids", "2", "--connections", "4", "--paced-rate", "200")
    _positive(f, "issue_per_s", "issue_p99_ms", "verify_by_id_per_s", "verify_by_id_p99_ms",
              "verify_by_id_paced_per_s", "verify_by_id_paced_p99_ms", "healthz_reference_per_s")


@pytest.mark.skipif(shutil.which("rabbitmq-server") is None, reason="needs rabbitmq-server (Debian)")
def test_batch_bench_prints_engine_figures():
    f = _figures("batch.py", "--docs", "4", "--chunk", "2", "--check", "1", timeout=900)
    _positive(f, "inprocess_docs_per_s", "embedded_docs_per_s", "celery_1_worker_docs_per_s",
              "celery_2_workers_docs_per_s", "celery_scaling_1_to_2")
    assert "pdfsig" in f["outputs_checked"]
