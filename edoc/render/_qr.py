"""The verification QR code, drawn as one vector path.

The module matrix comes from ReportLab's own encoder (the one behind
``reportlab.graphics.barcode.qr.QrCodeWidget``). The widget itself is not used:
it picks the mask by trying all eight (about 17 ms for a URL-sized code) and
then builds a shape object per dark module (another 15 ms). We use one fixed
mask — any mask is valid, decoders read it from the format bits — and draw each
run of dark modules as one rectangle of a single path, which keeps a render
within a few milliseconds.

Patch (installed by ``edoc.compat.install()``, never on import): in
``reportlab.graphics.barcode.qrencoder``, ``QRPolynomial.mod`` becomes an
in-place long division (half the encoding time of a URL-sized code), and
``QRUtil.getErrorCorrectPolynomial`` remembers its polynomials (a third);
:func:`qr_matrix` also hands the encoder its data positions per version
(ReportLab's private ``QRCode._dataPosList``) instead of letting it walk the
matrix for every code. Upstream: none filed. Tested with ReportLab 5.1.
"""

from __future__ import annotations

import re
from functools import lru_cache

from reportlab.graphics.barcode import qrencoder

__all__ = ["qr_matrix", "draw_qr"]


def _iterative_remainder(self, e):
    """``QRPolynomial.mod`` without recursion: the same remainder, in one list.

    ReportLab's version divides one step per call, each step building a new
    polynomial and calling ``glog``/``gexp`` per coefficient: half the time of
    a URL-sized code. This is the same long division over GF(256), done in place.
    """
    num = list(self.num)
    divisor = [qrencoder.LOG_TABLE[c] for c in e.num]  # a generator: no zero coefficients
    width = len(divisor)
    lead, exp, log = divisor[0], qrencoder.EXP_TABLE, qrencoder.LOG_TABLE
    i = 0
    while len(num) - i >= width:
        c = num[i]
        if c:
            ratio = log[c] - lead
            for j in range(width):
                num[i + j] ^= exp[(divisor[j] + ratio) % 255]
        i += 1
    return qrencoder.QRPolynomial(num[i:], 0)


#: distribution whose internals this module changes, and the versions it was tested with
TESTED = ("reportlab", "5.1")

_ORIGINAL_MOD = qrencoder.QRPolynomial.mod
_ORIGINAL_POLYNOMIAL = qrencoder.QRUtil.getErrorCorrectPolynomial
# The encoder rebuilds the Reed-Solomon generator polynomial of each block from
# scratch, by repeated multiplication, for every code. It depends only on the
# number of error-correction bytes, and the encoder never modifies it.
_remembered_polynomial = lru_cache(maxsize=64)(_ORIGINAL_POLYNOMIAL)
_iterative_remainder.original = _ORIGINAL_MOD  # type: ignore[attr-defined]
_state = {"positions": False}  # qr_matrix hands the encoder its data positions


def install() -> None:
    """Put the in-place division and the remembered polynomials into ReportLab (idempotent)."""
    if installed():
        return
    if not hasattr(qrencoder.QRCode, "_dataPosList"):
        raise RuntimeError("ReportLab's QRCode has no _dataPosList any more")
    qrencoder.QRPolynomial.mod = _iterative_remainder  # type: ignore[method-assign]
    qrencoder.QRUtil.getErrorCorrectPolynomial = staticmethod(_remembered_polynomial)
    _state["positions"] = True
    qr_matrix.cache_clear()


def uninstall() -> None:
    """ReportLab's own encoder again (idempotent)."""
    qrencoder.QRPolynomial.mod = _ORIGINAL_MOD  # type: ignore[method-assign]
    qrencoder.QRUtil.getErrorCorrectPolynomial = staticmethod(_ORIGINAL_POLYNOMIAL)
    _state["positions"] = False
    qr_matrix.cache_clear()


def installed() -> bool:
    """Whether the QR encoder uses the shortcuts."""
    return (
        qrencoder.QRPolynomial.mod is _iterative_remainder
        and qrencoder.QRUtil.getErrorCorrectPolynomial is _remembered_polynomial
        and _state["positions"]
    )


@lru_cache(maxsize=64)
def _data_positions(version: int) -> list[tuple[int, int]]:
    """Where a code of this version puts its data bits (the same for every code of it)."""
    code = qrencoder.QRCode(version, qrencoder.QRErrorCorrectLevel.M)
    code.moduleCount = version * 4 + 17
    return list(code._dataPosIterator())  # noqa: SLF001 - ReportLab's own placement


_MASK = 2  # vertical stripes: never forms finder-like patterns in the quiet zone
_QUIET = 4  # modules of white border the standard asks for


@lru_cache(maxsize=256)
def qr_matrix(value: str, level: str = "M") -> tuple[bytes, ...]:
    """The modules of a QR code for ``value`` (byte mode, error level ``level``): a row per
    ``bytes``, 1 for dark, 0 for light."""
    code = qrencoder.QRCode(None, getattr(qrencoder.QRErrorCorrectLevel, level))
    code.addData(qrencoder.QR8bitByte(value))
    code.version = code.calculate_version()
    if _state["positions"]:
        # the encoder walks the whole matrix for the data positions of every code; they
        # depend on the version only (it reads the list it is given, never changes it)
        code._dataPosList = _data_positions(code.version)  # noqa: SLF001
    code.makeImpl(False, _MASK)
    return tuple(bytes(map(bool, row)) for row in code.modules)


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


_DARK_RUN = re.compile(rb"\x01+")


def _runs(matrix: tuple[bytes, ...]):
    """``re`` operators for each horizontal run of dark modules, one unit high."""
    for r, row in enumerate(matrix):
        for run in _DARK_RUN.finditer(row):
            start, end = run.span()
            yield f"{start} {r} {end - start} 1 re"
