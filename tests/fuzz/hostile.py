"""Hostile PDFs the tests build themselves (issue 17): many fields packed in one object stream.

Written out by hand on purpose: no PDF library writes an object stream of
thousands of objects, which is exactly what makes pyHanko quadratic.
"""

from __future__ import annotations

import struct
import zlib

from asn1crypto import cms, x509


def _empty_cms() -> bytes:
    """A well-formed CMS SignedData with one bogus signer (it parses; it never validates)."""
    signed = cms.SignedData({
        "version": "v1",
        "digest_algorithms": [],
        "encap_content_info": {"content_type": "data"},
        "signer_infos": [{
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": x509.Name.build({"common_name": "nobody"}), "serial_number": 1}}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": b"\0" * 64,
        }],
    })
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def many_signature_fields(count: int = 8000, *, signed: bool = True) -> bytes:
    """A one-page PDF whose form has ``count`` signature fields, all in one object stream.

    With ``signed`` every field carries a (bogus) signature value, so a verifier
    that got through the enumeration would try to validate each.
    """
    first_field = 6
    packed: list[tuple[int, bytes]] = []  # (object number, body) inside the object stream
    refs = b" ".join(b"%d 0 R" % (first_field + i) for i in range(count))
    packed.append((1, b"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[" + refs + b"]/SigFlags 3>>>>"))
    packed.append((2, b"<</Type/Pages/Kids[3 0 R]/Count 1>>"))
    packed.append((3, b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>"))
    sig = (b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached"
           b"/ByteRange[0 10 20 10]/Contents<" + _empty_cms().hex().encode() + b">>>")
    packed.append((5, sig))
    for i in range(count):
        value = b"/V 5 0 R" if signed else b""
        packed.append((first_field + i, b"<</FT/Sig/T(s%d)/Type/Annot/Subtype/Widget/Rect[0 0 0 0]/P 3 0 R%s>>"
                       % (i, value)))
    header = b" ".join(b"%d %d" % (num, 0) for num, _ in packed)  # offsets filled below
    offsets, body, at = [], b"", 0
    for _num, obj in packed:
        offsets.append(at)
        body += obj + b"\n"
        at += len(obj) + 1
    header = b" ".join(b"%d %d" % (num, off) for (num, _), off in zip(packed, offsets, strict=True)) + b"\n"
    objstm_num = first_field + count
    xref_num = objstm_num + 1
    stream = zlib.compress(header + body, 9)

    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    top: dict[int, int] = {}
    top[4] = len(out)
    content = b"BT /F1 12 Tf 72 760 Td (many fields) Tj ET"
    out += b"4 0 obj\n<</Length %d>>stream\n%s\nendstream\nendobj\n" % (len(content), content)
    top[objstm_num] = len(out)
    out += (b"%d 0 obj\n<</Type/ObjStm/N %d/First %d/Filter/FlateDecode/Length %d>>stream\n"
            % (objstm_num, len(packed), len(header), len(stream)))
    out += stream + b"\nendstream\nendobj\n"
    index_of = {num: i for i, (num, _) in enumerate(packed)}
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for num in range(1, xref_num + 1):
        if num in top:
            rows.append(struct.pack(">BIH", 1, top[num], 0))
        elif num in index_of:
            rows.append(struct.pack(">BIH", 2, objstm_num, index_of[num]))
        else:  # the xref stream itself, written next
            rows.append(struct.pack(">BIH", 1, len(out), 0))
    xref = zlib.compress(b"".join(rows), 9)
    xref_at = len(out)
    out += (b"%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root 1 0 R/Filter/FlateDecode/Length %d>>stream\n"
            % (xref_num, xref_num + 1, len(xref)))
    out += xref + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)
