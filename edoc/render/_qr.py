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
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - (_QUIET + r) * module
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                path.rect(x + (_QUIET + start) * module, top - module, (c - start) * module, module)
            else:
                c += 1
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
