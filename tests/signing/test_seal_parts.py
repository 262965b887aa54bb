"""Large inputs are sealed without copying them: the input, then what was appended."""

from __future__ import annotations

import io
import os
import random

import pytest
from pypdf import PdfReader, PdfWriter

from edoc.verification import Verifier
from signing.seal import APPEND_WITHOUT_COPY, _AppendingStream

from .conftest import plain_pdf


def _large_pdf(size: int) -> bytes:
    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(plain_pdf())).pages:
        writer.add_page(page)
    writer.add_attachment("data.bin", os.urandom(size))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_large_input_is_sealed_in_two_parts_without_a_copy(home):
    pdf = _large_pdf(APPEND_WITHOUT_COPY)
    sealed = home.sealer().seal_parts(pdf)
    head, tail = sealed.parts
    assert head is pdf  # not a copy
    assert len(sealed) == len(pdf) + len(tail)
    whole = bytes(sealed)
    assert whole[: len(pdf)] == pdf
    report = Verifier(policy=home.trust_policy()).verify(whole)
    assert report.verdict == "valid", report.reasons
    assert report.signatures[0].coverage == "entire-file"
    out = io.BytesIO()
    sealed.write_to(out)
    assert out.getvalue() == whole


def test_a_small_input_comes_back_in_one_part(home, pdf):
    sealed = home.sealer().seal_parts(pdf)
    assert len(sealed.parts) == 1
    assert Verifier(policy=home.trust_policy()).verify(bytes(sealed)).verdict == "valid"


def test_the_appending_stream_reads_seeks_and_writes_as_a_bytesio():
    rng = random.Random(32000)
    head = os.urandom(5000)
    ours, reference = _AppendingStream(head), io.BytesIO(head)
    for _ in range(3000):
        op = rng.choice(["read", "readinto", "seek", "seek_end", "seek_cur", "write"])
        if op == "read":
            n = rng.choice([-1, 0, 1, 7, 4096, 10000])
            assert ours.read(n) == reference.read(n)
        elif op == "readinto":
            a, b = bytearray(rng.randrange(0, 3000)), None
            b = bytearray(len(a))
            assert ours.readinto(a) == reference.readinto(b)
            assert a == b
        elif op == "seek":
            pos = rng.randrange(0, 9000)
            assert ours.seek(pos) == reference.seek(pos)
        elif op == "seek_end":
            off = -rng.randrange(0, 200)
            assert ours.seek(off, io.SEEK_END) == reference.seek(off, io.SEEK_END)
        elif op == "seek_cur":
            off = rng.randrange(-100, 100)
            if reference.tell() + off >= 0:
                assert ours.seek(off, io.SEEK_CUR) == reference.seek(off, io.SEEK_CUR)
        else:
            # pyHanko writes only after the input: at its end, and over what it wrote
            pos = rng.randrange(len(head), len(head) + 3000)
            ours.seek(pos)
            reference.seek(pos)
            data = os.urandom(rng.randrange(0, 200))
            assert ours.write(data) == reference.write(data)
        assert ours.tell() == reference.tell()
    assert head + ours.appended() == reference.getvalue()


def test_the_input_part_is_never_written():
    stream = _AppendingStream(b"%PDF-1.7 input")
    stream.seek(3)
    with pytest.raises(io.UnsupportedOperation):
        stream.write(b"x")
    with pytest.raises(ValueError):
        stream.seek(-1)
