"""The fast hex-string reader gives exactly what pyHanko's own reader gives."""

from __future__ import annotations

from io import BytesIO

import pytest
from pyhanko.pdf_utils.misc import PdfReadError

from signing import _pdfread

CASES = [
    b"<>",
    b"<00>",
    b"<48656c6c6f>rest",
    b"<48 65\n6c\r\t6C\x00 6f>",
    b"<4>",
    b"<ABCDEF0>/Next",
    b"<" + b"0" * 40000 + b">trailer",
    b"<4865 % a comment\n6c6c>",
    b"<48zz>",
    b"<4865",
    b"<FEFF0041>",
]


def _read(reader, data: bytes):
    stream = BytesIO(data)
    try:
        value = reader(stream)
    except PdfReadError as exc:
        return ("error", type(exc), str(exc))
    return (type(value), bytes(value.original_bytes), stream.tell())


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_fast_hex_reader_matches_pyhanko(data):
    assert _read(_pdfread.read_hex_string_from_stream, data) == _read(_pdfread._pyhanko_reader, data)
