"""Reading the records of a batch file: CSV (UTF-8 or Windows-874), XLSX, JSONL, streamed.

Every reader yields ``(row, record)`` one record at a time; nothing holds the whole
file. ``row`` is what the officer sees: the spreadsheet's row number (the header is
row 1) or the JSONL line number. A file that breaks a limit (an XLSX zip bomb, a
million empty rows, a cell longer than any field) is refused with
:class:`BatchInputError` naming the limit, before the machine runs out of anything.

>>> header, records = read_records(Path("cohort.csv"))   # doctest: +SKIP
>>> next(records)                                         # doctest: +SKIP
(2, {'holder.name': 'นางสาวปิยะนุช ศรีสุข', 'completed_on': '25/11/2569', ...})
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from ..errors import EdocError

__all__ = ["FORMATS", "BatchInputError", "Limits", "detect_encoding", "detect_format", "read_records"]

Format = Literal["csv", "xlsx", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "jsonl")
_SAMPLE = 64 * 1024


class BatchInputError(EdocError):
    """The batch file cannot be read as a whole (format, encoding, a limit)."""

    kind = "batch-input"
    http_status = 422

    def __init__(self, message: str, *, th: str | None = None):
        super().__init__(message)
        self.th = th or message


@dataclass(frozen=True)
class Limits:
    """What a batch file may hold; past any of these it is refused, not read on."""

    max_rows: int = 200_000
    """Records (for XLSX: rows, empty ones included)."""
    max_cell_chars: int = 10_000
    """Characters in one cell or JSONL value (a CSV field, an XLSX cell)."""
    max_line_bytes: int = 1024 * 1024
    """Bytes of one JSONL line."""
    max_xlsx_bytes: int = 200 * 1024 * 1024
    """Uncompressed size of all the parts of an XLSX (zip bombs)."""
    max_sheets: int = 32
    """Worksheets in an XLSX (only the first is read)."""


def detect_format(name: str) -> Format:
    """The format a file name says (``.csv``, ``.xlsx``, ``.jsonl``/``.ndjson``)."""
    lower = name.lower()
    for suffix, fmt in ((".csv", "csv"), (".xlsx", "xlsx"), (".jsonl", "jsonl"), (".ndjson", "jsonl")):
        if lower.endswith(suffix):
            return fmt  # type: ignore[return-value]
    raise BatchInputError(
        f"cannot tell the format of {name!r}: name it .csv, .xlsx or .jsonl, or give the format",
        th=f"ไม่ทราบรูปแบบของไฟล์ {name!r}: ใช้นามสกุล .csv, .xlsx หรือ .jsonl",
    )


def detect_encoding(sample: bytes) -> str:
    """``utf-8-sig`` for a BOM, ``utf-8`` when the sample decodes, else ``cp874`` (Thai Excel)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        # Windows-874 is TIS-620 plus a few punctuation marks: what Thai Excel saves
        return "cp874"


def read_records(
    path: Path, fmt: Format | None = None, *, encoding: str | None = None, limits: Limits | None = None
) -> tuple[list[str] | None, Iterator[tuple[int, dict[str, Any]]]]:
    """The header (None for JSONL) and an iterator of ``(row, record)``."""
    fmt = fmt or detect_format(path.name)
    limits = limits or Limits()
    if fmt == "csv":
        return _csv(path, encoding, limits)
    if fmt == "xlsx":
        return _xlsx(path, limits)
    if fmt == "jsonl":
        return None, _jsonl(path, limits)
    raise BatchInputError(f"unknown batch format {fmt!r}; use csv, xlsx or jsonl")


# -- CSV ------------------------------------------------------------------------------------


def _csv(path: Path, encoding: str | None, limits: Limits):
    raw = path.open("rb")
    if encoding is None:
        encoding = detect_encoding(raw.read(_SAMPLE))
        raw.seek(0)
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raw.close()
            raise BatchInputError(f"unknown encoding {encoding!r}; e.g. utf-8, cp874, tis-620") from None
        if encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
            encoding = "utf-8-sig"  # a BOM is not part of the first column's name
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    csv.field_size_limit(limits.max_cell_chars)
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        text.close()
        raise _csv_error(exc, 1, encoding) from None
    if not header or not any(h.strip() for h in header):
        text.close()
        raise BatchInputError("the file is empty: its first row must name the columns",
                              th="ไฟล์ว่าง: แถวแรกต้องเป็นชื่อคอลัมน์")
    header = [h.strip() for h in header]

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        n = 1
        try:
            with text:
                while True:
                    try:
                        cells = next(reader)
                    except StopIteration:
                        return
                    except (UnicodeDecodeError, csv.Error) as exc:
                        raise _csv_error(exc, n + 1, encoding) from None
                    n += 1
                    if n - 1 > limits.max_rows:
                        raise _too_many_rows(limits)
                    if not any(c.strip() for c in cells):
                        continue
                    if len(cells) > len(header):
                        extra = [c for c in cells[len(header):] if c.strip()]
                        if extra:
                            yield n, {"": extra[0]}  # reported as a cell without a column
                            continue
                    yield n, dict(zip(header, cells, strict=False))
        finally:
            text.close()

    return header, records()


def _csv_error(exc: Exception, row: int, encoding: str) -> BatchInputError:
    if isinstance(exc, UnicodeDecodeError):
        return BatchInputError(
            f"row {row}: the file is not valid {encoding}; save it as CSV UTF-8, or give its "
            "encoding (--encoding cp874 for Thai Windows)",
            th=f"แถว {row}: ไฟล์ไม่ได้เข้ารหัสแบบ {encoding}; บันทึกเป็น CSV UTF-8 หรือระบุ --encoding",
        )
    return BatchInputError(f"row {row}: not readable as CSV: {exc}",
                           th=f"แถว {row}: อ่านเป็น CSV ไม่ได้: {exc}")


def _too_many_rows(limits: Limits) -> BatchInputError:
    return BatchInputError(
        f"the file has more than {limits.max_rows:,} rows (empty rows count too); split it",
        th=f"ไฟล์มีเกิน {limits.max_rows:,} แถว (นับแถวว่างด้วย); แบ่งเป็นหลายไฟล์",
    )


# -- XLSX -----------------------------------------------------------------------------------


def _xlsx(path: Path, limits: Limits):
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise BatchInputError(f"not an XLSX workbook: {exc}", th="ไฟล์นี้ไม่ใช่ไฟล์ XLSX") from None
    # the sizes a zip declares bound what zipfile will inflate, so they bound the work
    unpacked = sum(i.file_size for i in infos)
    if unpacked > limits.max_xlsx_bytes:
        raise BatchInputError(
            f"the workbook unpacks to {unpacked:,} bytes, more than the {limits.max_xlsx_bytes:,} "
            "allowed; split it or save it as CSV",
            th=f"ไฟล์ XLSX เมื่อขยายมีขนาด {unpacked:,} ไบต์ เกินที่อนุญาต ({limits.max_xlsx_bytes:,})",
        )
    sheets = [i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
    if len(sheets) > limits.max_sheets:
        raise BatchInputError(
            f"the workbook has {len(sheets)} sheets, more than {limits.max_sheets}",
            th=f"ไฟล์ XLSX มี {len(sheets)} แผ่นงาน เกิน {limits.max_sheets}",
        )
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise BatchInputError(f"cannot read the workbook: {exc}", th="อ่านไฟล์ XLSX ไม่ได้") from None
    if not wb.worksheets:
        wb.close()
        raise BatchInputError("the workbook has no sheet", th="ไฟล์ XLSX ไม่มีแผ่นงาน")
    ws = wb.worksheets[0]
    declared = ws.max_row  # from the sheet's <dimension>, when it has one
    if declared is not None and declared > limits.max_rows + 1:
        wb.close()
        raise _too_many_rows(limits)
    rows = ws.iter_rows(values_only=True)
    header: list[str] | None = None
    n = 0
    try:
        for values in rows:
            n += 1
            if any(v is not None and str(v).strip() for v in values):
                header = ["" if v is None else str(v).strip() for v in values]
                break
            if n > limits.max_rows:
                raise _too_many_rows(limits)
    except BatchInputError:
        wb.close()
        raise
    if header is None:
        wb.close()
        raise BatchInputError("the first sheet is empty: its first row must name the columns",
                              th="แผ่นงานแรกว่าง: แถวแรกต้องเป็นชื่อคอลัมน์")
    while header and not header[-1]:
        header.pop()
    first = n

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        row = first
        try:
            for values in rows:
                row += 1
                if row - first > limits.max_rows:
                    raise _too_many_rows(limits)
                record: dict[str, Any] = {}
                for i, v in enumerate(values):
                    if v is None or (isinstance(v, str) and not v.strip()):
                        continue
                    if isinstance(v, str) and len(v) > limits.max_cell_chars:
                        raise BatchInputError(
                            f"row {row}: a cell has {len(v):,} characters, more than "
                            f"{limits.max_cell_chars:,}",
                            th=f"แถว {row}: มีช่องที่ยาว {len(v):,} ตัวอักษร เกิน {limits.max_cell_chars:,}",
                        )
                    name = header[i] if i < len(header) else ""
                    record[name] = _cell(v)
                if record:
                    yield row, record
        finally:
            wb.close()

    return header, records()


def _cell(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date().isoformat() if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# -- JSONL ----------------------------------------------------------------------------------


def _jsonl(path: Path, limits: Limits) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as fh:
        line_no = 0
        records = 0
        while True:
            line = fh.readline(limits.max_line_bytes + 1)
            if not line:
                return
            line_no += 1
            if len(line) > limits.max_line_bytes:
                raise BatchInputError(
                    f"line {line_no} is longer than {limits.max_line_bytes:,} bytes",
                    th=f"บรรทัด {line_no} ยาวเกิน {limits.max_line_bytes:,} ไบต์",
                )
            if not line.strip():
                continue
            records += 1
            if records > limits.max_rows:
                raise _too_many_rows(limits)
            try:
                value = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield line_no, {"\0error": f"not a JSON object: {exc}"}
                continue
            if not isinstance(value, dict):
                yield line_no, {"\0error": "not a JSON object"}
                continue
            yield line_no, value
