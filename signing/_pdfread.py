"""Faster readers for PDF strings, installed into pyHanko's parser.

pyHanko reads a hex string one byte at a time through a generator; a seal's
``/Contents`` is a hex string of some 25,000 digits, so reading it was about
half of the CPU time of verifying one of our documents. This reader takes the
common case (hex digits and whitespace up to ``>``) in a few C-level calls and
hands anything else (a comment, a stray byte, no ``>`` before the end) back to
pyHanko's own reader from the same position, so results and errors are pyHanko's.

Literal strings ``(...)`` are read byte by byte too; ReportLab writes the Thai
title, subject and author as UTF-16 in octal escapes (``\\016\\031``), which
sealing reads (and verification reads again). The literal reader does the same
with a regular expression for the common case: no nested parentheses, and only
escapes pyHanko reads the same way (three octal digits up to ``\\377``, or one of
``n r t b f ( ) \\`` and the delimiters). Anything else goes back to pyHanko.

Patch (installed by ``edoc.compat.install()``, never on import): replaces
``pyhanko.pdf_utils.generic.read_hex_string_from_stream`` and
``read_string_from_stream``, which pyHanko's ``read_object`` looks up at each
call. Why: the hex reader was ~half of a verification's CPU. Upstream: none
filed yet (the hex reader is upstream material). Tested with pyHanko 0.38.
"""

from __future__ import annotations

import binascii
import os
import re

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

_pyhanko_reader = generic.read_hex_string_from_stream
_pyhanko_literal_reader = generic.read_string_from_stream
_CHUNK = 16384
_SIMPLE_ESCAPE = rb"\\(?:[0-3][0-7][0-7]|[nrtbf()\\ /%<>\[\]#_&$])"
_SIMPLE_PREFIX = re.compile(rb"\((?:[^()\\]|" + _SIMPLE_ESCAPE + rb")*")
_ESCAPE = re.compile(_SIMPLE_ESCAPE)
_ESCAPED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(match: re.Match) -> bytes:
    escape = match.group()[1:]
    if len(escape) == 3:
        return bytes((int(escape, 8),))
    return _ESCAPED.get(escape, escape)


def read_string_from_stream(stream):
    """Read ``(...)`` at the stream's position into a PDF string object (as pyHanko does)."""
    start = stream.tell()
    size = 256
    while True:
        chunk = stream.read(size)
        prefix = _SIMPLE_PREFIX.match(chunk)
        stop = prefix.end() if prefix is not None else 0
        if chunk[stop : stop + 1] == b")":
            stream.seek(start + stop + 1)
            body = chunk[1:stop]
            return generic.pdf_string(_ESCAPE.sub(_unescape, body) if b"\\" in body else body)
        if prefix is None or len(chunk) < size or stop < len(chunk) - 3:
            # not simple (nested parentheses, another escape) or truncated: pyHanko's way
            stream.seek(start)
            return _pyhanko_literal_reader(stream)
        stream.seek(start)  # simple so far, but longer than the chunk
        size *= 4


def read_hex_string_from_stream(stream):
    """Read ``<...>`` at the stream's position into a PDF string object (as pyHanko does)."""
    start = stream.tell()
    stream.read(1)  # '<'
    chunks, closed = [], False
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        end = chunk.find(b">")
        if end >= 0:
            chunks.append(chunk[:end])
            stream.seek(end + 1 - len(chunk), os.SEEK_CUR)
            closed = True
            break
        chunks.append(chunk)
    digits = b"".join(chunks).translate(None, PDF_WHITESPACE)
    if not closed or digits.translate(None, generic.HEX_DIGITS):
        stream.seek(start)
        return _pyhanko_reader(stream)
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


#: distribution whose internals this module changes, and the versions it was tested with
TESTED = ("pyhanko", "0.38")


def install() -> None:
    """Make pyHanko's object reader use the readers above (idempotent)."""
    generic.read_hex_string_from_stream = read_hex_string_from_stream
    generic.read_string_from_stream = read_string_from_stream


def uninstall() -> None:
    """pyHanko's own readers again (idempotent)."""
    generic.read_hex_string_from_stream = _pyhanko_reader
    generic.read_string_from_stream = _pyhanko_literal_reader


def installed() -> bool:
    """Whether pyHanko reads strings with the readers above."""
    return (
        generic.read_hex_string_from_stream is read_hex_string_from_stream
        and generic.read_string_from_stream is read_string_from_stream
    )
