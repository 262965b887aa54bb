"""Batch results as CSV or JSONL, and the batch's documents as one streamed ZIP.

The CSV opens safely in Excel: a cell that begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return gets a leading apostrophe, so it is shown as text and never
run as a formula (CSV injection). Both formats come out a row at a time.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict

from .service import ResultRow

__all__ = ["COLUMNS", "csv_lines", "jsonl_lines", "neutralise", "pdf_entries", "zip_stream"]

COLUMNS = ("row", "key", "document_id", "number", "verify_url", "sha256", "error")
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """A cell value Excel will not evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_RISKY) else text


def csv_lines(rows: Iterable[ResultRow], *, bom: bool = True) -> Iterator[str]:
    """The results as CSV text, header first (with a BOM so Excel reads it as UTF-8)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield ("\ufeff" if bom else "") + buf.getvalue()
    for r in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([neutralise(getattr(r, c)) for c in COLUMNS])
        yield buf.getvalue()


def jsonl_lines(rows: Iterable[ResultRow]) -> Iterator[str]:
    """The results as JSON lines (every column, plus the row's state)."""
    for r in rows:
        yield json.dumps(asdict(r), ensure_ascii=False) + "\n"


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are collected for the generator to hand on."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        self.chunks.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def zip_stream(entries: Iterable[tuple[str, Callable[[], Iterator[bytes]]]]) -> Iterator[bytes]:
    """A ZIP of ``(name, open_chunks)`` entries, produced as it is read (PDFs stored as-is)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, chunks in entries:
            with zf.open(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), "w", force_zip64=False) as fh:
                for chunk in chunks():
                    fh.write(chunk)
                    if sink.chunks:
                        yield sink.take()
            yield sink.take()
    yield sink.take()


def pdf_entries(service, issuer, batch_id: str, agency: str | None = None):
    """``(name, chunks)`` of every issued document of a batch, for :func:`zip_stream`."""
    for r in service.results(batch_id, agency=agency):
        if r.document_id is None:
            continue
        record = issuer.get(r.document_id)
        yield (f"{r.row:06d}-{r.document_id}.pdf",
               lambda record=record: issuer.pdf_stream(record))
