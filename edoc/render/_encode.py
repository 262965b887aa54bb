"""ReportLab's name and string encoders, remembered for the short strings they see again.

Writing a certificate, ReportLab encodes some 250 short strings (dictionary
keys, names, numbers) through its Python ``extpdfdoc`` codec and escapes some
150 PDF names character by character: ~0.7 and ~1.1 µs each, the same few
dozen strings in every document. Both are pure functions of their argument;
short arguments are looked up instead. Long ones (content streams) are encoded
as before, so they never fill the memo.
"""

from __future__ import annotations

from functools import lru_cache

from reportlab.pdfbase import pdfdoc

_SHORT = 64


def _install() -> None:
    encode, name = pdfdoc.pdfdocEnc, pdfdoc.PDFName
    if getattr(encode, "memoised", False):
        return
    encode_short = lru_cache(maxsize=4096)(encode)
    name_default = lru_cache(maxsize=4096)(name)

    def pdfdoc_enc(x):
        return encode_short(x) if isinstance(x, str) and len(x) < _SHORT else encode(x)

    def pdf_name(data, *args, **kwargs):
        if args or kwargs or not isinstance(data, str) or len(data) >= _SHORT:
            return name(data, *args, **kwargs)
        return name_default(data)

    pdfdoc_enc.memoised = True  # type: ignore[attr-defined]
    pdfdoc_enc.original, pdf_name.original = encode, name  # type: ignore[attr-defined]
    pdfdoc_enc.cache_clear = encode_short.cache_clear  # type: ignore[attr-defined]
    pdf_name.cache_clear = name_default.cache_clear  # type: ignore[attr-defined]
    pdfdoc.pdfdocEnc = pdfdoc_enc
    pdfdoc.PDFName = pdf_name


def clear_caches() -> None:
    """Forget the encoded strings and names."""
    for function in (pdfdoc.pdfdocEnc, pdfdoc.PDFName):
        clear = getattr(function, "cache_clear", None)
        if clear is not None:
            clear()


_install()
