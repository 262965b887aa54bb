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
    except (PdfReadError, ValueError) as exc:  # pyHanko lets a bad octal escape's ValueError out
        return ("error", type(exc), str(exc))
    return (type(value), bytes(value.original_bytes), stream.tell())


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_fast_hex_reader_matches_pyhanko(data):
    assert _read(_pdfread.read_hex_string_from_stream, data) == _read(_pdfread._pyhanko_reader, data)


LITERALS = [
    b"()",
    b"(Hello)rest",
    b"(edoc \\(ReportLab\\)) /Next",
    b"(\\376\\377\\016+\\016\\031\\000 \\016H)",
    b"(a\\nb\\rc\\td\\be\\ff\\\\g\\/h\\%i\\<j\\>k\\[l\\]m\\#n\\_o\\&p\\$q)",
    b"(nested (parens) here)",
    b"(octal short \\7x and \\12y)",
    b"(octal overflow \\777)",
    b"(octal with eight \\128)",
    b"(odd escape \\q)",
    b"(line \\\ncontinued \\\r\nagain)",
    b"(raw\r\nnewline)",
    b"(unterminated",
    b"(ends in escape \\",
    b"(split escape at the chunk edge " + b"x" * 220 + b"\\016\\031)",
    b"(" + b"\\016\\031" * 3000 + b")trailer",
    b"(" + b"y" * 1000 + b"(nested)" + b")",
]


@pytest.mark.parametrize("data", LITERALS, ids=range(len(LITERALS)))
def test_fast_literal_reader_matches_pyhanko(data):
    assert _read(_pdfread.read_string_from_stream, data) == _read(_pdfread._pyhanko_literal_reader, data)


def test_fast_literal_reader_matches_pyhanko_on_random_strings():
    import random

    rng = random.Random(3161)
    alphabet = [b"(", b")", b"\\", b"0", b"1", b"3", b"7", b"8", b"n", b"q", b" ", b"\n", b"a", b"\xfe"]
    for _ in range(3000):
        body = b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))
        data = b"(" + body + rng.choice([b")", b")tail", b""])
        assert _read(_pdfread.read_string_from_stream, data) == _read(
            _pdfread._pyhanko_literal_reader, data
        ), data
