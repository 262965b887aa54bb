"""The QR encoder's speed-ups give exactly ReportLab's own codes."""

from __future__ import annotations

import random

import pytest
from reportlab.graphics.barcode import qrencoder

from edoc.render import _qr


def test_the_in_place_division_gives_reportlabs_remainders():
    rng = random.Random(7)
    original = _qr._iterative_remainder.original
    for ec_count in (7, 10, 13, 15, 16, 17, 18, 20, 22, 24, 26, 28, 30):
        generator = qrencoder.QRUtil.getErrorCorrectPolynomial(ec_count)
        for _ in range(40):
            data = [rng.randrange(256) for _ in range(rng.randrange(1, 120))]
            data[0] = data[0] or 1
            if rng.random() < 0.2:  # runs of zeros, which the division skips
                data[1:6] = [0] * len(data[1:6])
            poly = qrencoder.QRPolynomial(data, generator.getLength() - 1)
            assert _qr._iterative_remainder(poly, generator).num == original(poly, generator).num


@pytest.mark.parametrize("version", range(1, 41))
def test_data_positions_per_version_are_the_encoders_own(version):
    code = qrencoder.QRCode(version, qrencoder.QRErrorCorrectLevel.M)
    code.makeImpl(False, 0)  # a real code of this version, placed the ReportLab way
    assert _qr._data_positions(version) == list(code._dataPosIterator())


def test_codes_match_reportlabs_unpatched_encoder(monkeypatch):
    values = ["https://edoc.example.go.th/verify/01JDX" + "7" * n for n in (0, 20, 60, 150)]
    ours = [_qr.qr_matrix.__wrapped__(v) for v in values]
    monkeypatch.setattr(qrencoder.QRPolynomial, "mod", _qr._iterative_remainder.original)
    for value, matrix in zip(values, ours, strict=True):
        code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        code.addData(qrencoder.QR8bitByte(value))
        code.version = code.calculate_version()
        code.makeImpl(False, _qr._MASK)
        assert matrix == tuple(bytes(bool(m) for m in row) for row in code.modules)


def test_runs_cover_exactly_the_dark_modules():
    import random

    from edoc.render._qr import _runs, qr_matrix

    rng = random.Random(7)
    matrices = [qr_matrix("https://verify.example.go.th/v/" + "x" * n) for n in (1, 40, 200)]
    matrices += [tuple(bytes(rng.random() < 0.5 for _ in range(n)) for _ in range(n)) for n in (1, 2, 21, 57)]
    for matrix in matrices:
        painted = {(r, c) for r, row in enumerate(matrix) for c, dark in enumerate(row) if dark}
        drawn = set()
        for op in _runs(matrix):
            x, y, w, h, name = op.split()
            assert (h, name) == ("1", "re") and int(w) > 0
            cells = {(int(y), int(x) + i) for i in range(int(w))}
            assert not cells & drawn  # no module painted twice
            drawn |= cells
        assert drawn == painted
        # maximal runs: no two runs of a row touch
        ends = {(int(op.split()[1]), int(op.split()[0]) + int(op.split()[2])) for op in _runs(matrix)}
        starts = {(int(op.split()[1]), int(op.split()[0])) for op in _runs(matrix)}
        assert not ends & starts
