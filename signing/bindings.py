"""What each signature of a PDF signs, as a digest: the key the registry binds documents by.

A seal (or document timestamp) signs the bytes its ``/ByteRange`` names: the
file from its first byte up to the end of the signed revision, less the hole for
the signature itself. Those bytes cannot change without breaking the seal, and
no update appended later (a new ``/Info``, other ``/Keywords``, anything) changes
them, so their SHA-256 names the sealed document whatever was added after it.

Only ranges that start at the file's first byte count: a range over bytes
hidden elsewhere in the file would let one file pose as another document.

>>> [r.kind for r in signed_revisions(pdf_bytes)]  # doctest: +SKIP
['signature', 'document-timestamp']
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from io import BytesIO
from typing import Literal

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedRevision:
    """One signature of a PDF and the digest of the bytes it signs."""

    field_name: str
    kind: Literal["signature", "document-timestamp"]
    signed_sha256: str
    """SHA-256 (hex) of the bytes the ``/ByteRange`` covers."""
    end: int
    """Where the signed revision ends in the file (bytes after it were added later)."""


def signed_revisions(data: bytes, *, reader: PdfFileReader | None = None) -> tuple[SignedRevision, ...]:
    """Every signature of ``data`` whose byte range is well formed; never raises for bad input.

    The signature dictionaries are read, not their CMS (a third of the cost of
    listing pyHanko's embedded signatures, paid at every issuance).
    """
    try:
        if reader is None:
            reader = PdfFileReader(BytesIO(data), strict=False)
        filled = list(enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:  # hostile or damaged input: nothing signed can be named
        log.info("no signatures readable: %r", exc)
        return ()
    found = []
    for name, value, _ref in filled:
        try:
            revision = _one(data, str(name), value.get_object())
        except Exception as exc:
            log.info("signature byte range unreadable: %r", exc)
            continue
        if revision is not None:
            found.append(revision)
    return tuple(found)


def _one(data: bytes, field_name: str, sig) -> SignedRevision | None:
    byte_range = [int(x) for x in sig["/ByteRange"]]
    if len(byte_range) != 4:
        return None
    start, len1, start2, len2 = byte_range
    if start != 0 or len1 <= 0 or len2 < 0 or start2 < len1 or start2 + len2 > len(data):
        return None
    view = memoryview(data)
    digest = hashlib.sha256(view[:len1])
    digest.update(view[start2 : start2 + len2])
    kind: Literal["signature", "document-timestamp"] = (
        "document-timestamp" if sig.get("/Type") == "/DocTimeStamp" else "signature"
    )
    return SignedRevision(field_name, kind, digest.hexdigest(), start2 + len2)
