"""Accepting documents: the verified data of a sealed PDF, and a summary of many.

A receiving agency gets another agency's certificate as a PDF and must not
retype it. :func:`verified_data` hands over the ``data.json`` the issuer
attached, read from the revision the seal covers, and only when the whole file
verifies ``valid``. :func:`summary_rows` and :func:`write_summary` make one CSV
row per file, safe to open in a spreadsheet.

>>> out = verified_data(report, pdf_bytes)  # doctest: +SKIP
>>> out["data"]["holder"]["name"], out["covered_by"]  # doctest: +SKIP
('นางสาวปิยะนุช ศรีสุข', 'Seal')
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from typing import IO, Any

from signing.attachments import embedded_files
from signing.report import VerificationReport

DATA_FILE = "data.json"

SUMMARY_COLUMNS = ("file", "verdict", "issuing_agency", "document_id", "status", "template")


class NoVerifiedData(Exception):
    """Why no data is handed over (the file is not valid, or carries no data.json)."""


def verified_data(
    report: VerificationReport, data: bytes, *, password: str | None = None
) -> dict[str, Any]:
    """The attached ``data.json`` of a valid file, with which seal covers it.

    Raises :class:`NoVerifiedData` for a file that is not ``valid``, or whose
    covering seal's revision carries no ``data.json``.
    """
    if report.verdict != "valid":
        raise NoVerifiedData(f"the file is {report.verdict}, so its data is not handed over")
    seals = [s for s in report.signatures
             if s.kind == "signature" and s.ades_indication == "TOTAL_PASSED" and s.revision]
    if not seals:
        raise NoVerifiedData("no valid seal covers the file's data")
    seal = seals[-1]  # the latest valid seal covers the most
    files = embedded_files(data, seal.revision, password=password)  # type: ignore[arg-type]
    raw = files.get(DATA_FILE)
    if raw is None:
        raise NoVerifiedData(f"the sealed revision carries no {DATA_FILE}")
    try:
        values = json.loads(raw)
    except ValueError as exc:
        raise NoVerifiedData(f"the attached {DATA_FILE} is not JSON") from exc
    registry = report.registry
    return {
        "covered_by": seal.field_name,
        "revision": seal.revision,
        "signer": seal.signer,
        "attachment": DATA_FILE,
        "sha256": hashlib.sha256(raw).hexdigest(),
        # from the registry the seal's signed bytes led to, never from unsigned metadata
        "document_id": registry.document_id if registry else None,
        "issuing_agency": registry.issuing_agency if registry else None,
        "template": registry.template if registry else None,
        "template_version": values.get("template_version") if isinstance(values, dict) else None,
        "data": values,
    }


def summary_row(report: VerificationReport, data: bytes) -> dict[str, str]:
    """One file's row: verdict, agency, document id, registry status and the data fields."""
    registry = report.registry
    row = {
        "file": report.file or "",
        "verdict": report.verdict,
        "issuing_agency": (registry.issuing_agency if registry else None) or "",
        "document_id": (registry.document_id if registry else None) or "",
        "status": registry.status if registry else "",
        "template": "",
    }
    try:
        found = verified_data(report, data)
    except NoVerifiedData:
        return row
    row["template"] = found["template"] or ""
    for key, value in _flatten(found["data"]).items():
        row[f"data.{key}"] = value
    return row


def write_summary(rows: Iterable[dict[str, str]], out: IO[str]) -> None:
    """The rows as CSV (UTF-8 with BOM for Excel), every cell neutralised against formulas."""
    rows = list(rows)
    columns = list(SUMMARY_COLUMNS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writerow({c: safe_cell(c) for c in columns})
    for row in rows:
        writer.writerow({c: safe_cell(row.get(c, "")) for c in columns})


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out
    if isinstance(value, list):
        return {prefix.rstrip("."): json.dumps(value, ensure_ascii=False)}
    return {prefix.rstrip("."): "" if value is None else str(value)}
