"""The verification QR code, drawn as one vector path.

The module matrix comes from ReportLab's own encoder (the one behind
``reportlab.graphics.barcode.qr.QrCodeWidget``). The widget itself is not used:
it picks the mask by trying all eight (about 17 ms for a URL-sized code) and
then builds a shape object per dark module (another 15 ms). We use one fixed
mask — any mask is valid, decoders read it from the format bits — and draw each
run of dark modules as one rectangle of a single path, which keeps a render
within a few milliseconds.
"""

from __future__ import annotations

from functools import lru_cache

from reportlab.graphics.barcode import qrencoder

__all__ = ["qr_matrix", "draw_qr"]

def _memoise_generator_polynomials() -> None:
    # The encoder rebuilds the Reed-Solomon generator polynomial of each block
    # from scratch, by repeated multiplication, for every code: a third of the
    # encoding time. It depends only on the number of error-correction bytes,
    # and the encoder never modifies it, so one per length is kept.
    util = qrencoder.QRUtil
    if not hasattr(util.getErrorCorrectPolynomial, "cache_info"):
        util.getErrorCorrectPolynomial = staticmethod(lru_cache(maxsize=64)(util.getErrorCorrectPolynomial))


_memoise_generator_polynomials()

_MASK = 2  # vertical stripes: never forms finder-like patterns in the quiet zone
_QUIET = 4  # modules of white border the standard asks for


@lru_cache(maxsize=256)
def qr_matrix(value: str, level: str = "M") -> tuple[tuple[bool, ...], ...]:
    """The dark/light modules of a QR code for ``value`` (byte mode, error level ``level``)."""
    code = qrencoder.QRCode(None, getattr(qrencoder.QRErrorCorrectLevel, level))
    code.addData(qrencoder.QR8bitByte(value))
    code.version = code.calculate_version()
    code.makeImpl(False, _MASK)
    return tuple(tuple(bool(m) for m in row) for row in code.modules)


def draw_qr(canvas, value: str, x: float, y: float, size: float) -> None:
    """Draw the QR code for ``value`` in the square with lower-left corner (x, y)."""
    matrix = qr_matrix(value)
    n = len(matrix)
    module = size / (n + 2 * _QUIET)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    # in module units, origin at the code's top-left corner, y down: every
    # coordinate is a small integer, written straight into the page's content
    canvas.transform(module, 0, 0, -module, x + _QUIET * module, y + size - _QUIET * module)
    canvas.addLiteral(" ".join(_runs(matrix)) + " f")
    canvas.restoreState()


def _runs(matrix: tuple[tuple[bool, ...], ...]):
    """``re`` operators for each horizontal run of dark modules, one unit high."""
    n = len(matrix)
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                yield f"{start} {r} {c - start} 1 re"
            else:
                c += 1
