"""Attach the document's input data to the PDF as an embedded file (``data.json``).

A receiving agency can read the data without re-keying it: the file is in the
catalog's ``/EmbeddedFiles`` name tree and, as PDF 2.0 and PDF/A-3 expect, in
the catalog's ``/AF`` array with ``/AFRelationship /Data``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFCatalog,
    PDFDate,
    PDFDictionary,
    PDFName,
    PDFStream,
    PDFString,
)

__all__ = ["attach_file", "pdf_timestamp"]


def pdf_timestamp(when: datetime) -> TimeStamp:
    """A ReportLab timestamp for ``when``, so that dates in the file come from the input."""
    ts = TimeStamp(invariant=True)
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    ts.t = when.timestamp()
    ts.lt = when.timetuple()
    ts.YMDhms = tuple(ts.lt)[:6]
    ts.dhh, ts.dmm = divmod(minutes, 60) if minutes >= 0 else (-(-minutes // 60), (-minutes) % 60)
    ts.tzname = "UTC" if not minutes else None
    return ts


def attach_file(
    canvas, *, name: str, data: bytes, mime: str, description: str, when: datetime
) -> None:
    """Embed ``data`` as the file ``name`` in the document ``canvas`` is drawing."""
    doc = canvas._doc  # noqa: SLF001 - ReportLab has no public attachment API
    date = PDFDate(ts=pdf_timestamp(when))
    stream = PDFStream(
        dictionary=PDFDictionary(
            {
                "Type": PDFName("EmbeddedFile"),
                "Subtype": "/" + mime.replace("/", "#2F"),  # PDFName() does not escape "/"
                "Params": PDFDictionary(
                    {
                        "Size": len(data),
                        "ModDate": date,
                        "CheckSum": PDFString(
                            hashlib.md5(data, usedforsecurity=False).digest(), enc="raw"
                        ),
                    }
                ),
            }
        ),
        content=data,
    )
    stream_ref = doc.Reference(stream)
    spec = PDFDictionary(
        {
            "Type": PDFName("Filespec"),
            "F": PDFString(name),
            "UF": PDFString(name),
            "Desc": PDFString(description),
            "EF": PDFDictionary({"F": stream_ref, "UF": stream_ref}),
            "AFRelationship": PDFName("Data"),
        }
    )
    spec_ref = doc.Reference(spec)
    catalog = doc.Catalog
    catalog.Names = PDFDictionary(
        {"EmbeddedFiles": PDFDictionary({"Names": PDFArray([PDFString(name), spec_ref])})}
    )
    # PDFCatalog only writes the keys it knows; /AF is not (yet) one of them.
    catalog.__NoDefault__ = [*PDFCatalog.__NoDefault__, "AF"]
    catalog.AF = PDFArray([spec_ref])
