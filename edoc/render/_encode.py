"""ReportLab's name and string encoders, remembered for the short strings they see again.

Writing a certificate, ReportLab encodes some 250 short strings (dictionary
keys, names, numbers) through its Python ``extpdfdoc`` codec and escapes some
150 PDF names character by character: ~0.7 and ~1.1 µs each, the same few
dozen strings in every document. Both are pure functions of their argument;
short arguments are looked up instead. Long ones (a page's content stream,
~10 KB) are never remembered; when they are plain ASCII, as content streams
are, ``str.encode`` gives the codec's bytes ~40x faster (~190 µs per page).

Patch: replaces ``reportlab.pdfbase.pdfdoc.pdfdocEnc`` and ``pdfdoc.PDFName``
(module globals ReportLab's writer looks up at each call); installed by
``edoc.compat.install()``, never on import. Upstream: none filed. Tested with
ReportLab 5.1.
"""

from __future__ import annotations

import re
from functools import lru_cache

from reportlab.pdfbase import pdfdoc

_SHORT = 64
# the ASCII characters ReportLab's extpdfdoc codec refuses (PDFDocEncoding puts
# accents at 0x18-0x1F); every other ASCII character encodes as itself
_NOT_IN_PDFDOC = re.compile("[\x18-\x1f]")


#: distribution whose internals this module changes, and the versions it was tested with
TESTED = ("reportlab", "5.1")

_ORIGINAL_ENCODE, _ORIGINAL_NAME = pdfdoc.pdfdocEnc, pdfdoc.PDFName


def install() -> None:
    """Put the remembering encoders into ReportLab (idempotent)."""
    if installed():
        return
    encode, name = _ORIGINAL_ENCODE, _ORIGINAL_NAME
    encode_short = lru_cache(maxsize=4096)(encode)
    name_default = lru_cache(maxsize=4096)(name)

    def pdfdoc_enc(x):
        if isinstance(x, str):
            if len(x) < _SHORT:
                return encode_short(x)
            if x.isascii() and not _NOT_IN_PDFDOC.search(x):
                return x.encode("ascii")  # what the codec gives for these, ~40x faster
        return encode(x)

    def pdf_name(data, *args, **kwargs):
        if args or kwargs or not isinstance(data, str) or len(data) >= _SHORT:
            return name(data, *args, **kwargs)
        return name_default(data)

    pdfdoc_enc.memoised = True  # type: ignore[attr-defined]
    pdf_name.memoised = True  # type: ignore[attr-defined]
    pdfdoc_enc.original, pdf_name.original = encode, name  # type: ignore[attr-defined]
    pdfdoc_enc.cache_clear = encode_short.cache_clear  # type: ignore[attr-defined]
    pdf_name.cache_clear = name_default.cache_clear  # type: ignore[attr-defined]
    pdfdoc.pdfdocEnc = pdfdoc_enc
    pdfdoc.PDFName = pdf_name


def uninstall() -> None:
    """ReportLab's own encoders again (idempotent)."""
    pdfdoc.pdfdocEnc, pdfdoc.PDFName = _ORIGINAL_ENCODE, _ORIGINAL_NAME


def installed() -> bool:
    """Whether ReportLab encodes with the remembering encoders."""
    return all(getattr(f, "memoised", False) for f in (pdfdoc.pdfdocEnc, pdfdoc.PDFName))


def clear_caches() -> None:
    """Forget the encoded strings and names."""
    for function in (pdfdoc.pdfdocEnc, pdfdoc.PDFName):
        clear = getattr(function, "cache_clear", None)
        if clear is not None:
            clear()
