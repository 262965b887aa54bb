"""A faster reader for PDF hex strings, installed into pyHanko's parser.

pyHanko reads a hex string one byte at a time through a generator; a seal's
``/Contents`` is a hex string of some 25,000 digits, so reading it was about
half of the CPU time of verifying one of our documents. This reader takes the
common case (hex digits and whitespace up to ``>``) in a few C-level calls and
hands anything else (a comment, a stray byte, no ``>`` before the end) back to
pyHanko's own reader from the same position, so results and errors are pyHanko's.
"""

from __future__ import annotations

import binascii
import os

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

_pyhanko_reader = generic.read_hex_string_from_stream
_CHUNK = 16384


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


def install() -> None:
    """Make pyHanko's object reader use :func:`read_hex_string_from_stream` (idempotent)."""
    generic.read_hex_string_from_stream = read_hex_string_from_stream
