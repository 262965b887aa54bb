"""Third-party-style signed PDFs, made with pyHanko's own signer (not edoc's Sealer).

Each builder takes the bytes of a PDF and returns new bytes, the way another
producer (Acrobat, a foreign university's system, an ETSI plugtest) would
leave a file: approval signatures, certification with each DocMDP level,
document timestamps after LT, encryption, annotations, empty fields, and the
malformed cases a verifier must name without condemning the rest.
"""

from __future__ import annotations

import re
from io import BytesIO

from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.sign import fields, signers
from pyhanko.sign.signers import pdf_byterange, pdf_signer
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko_certvalidator import ValidationContext

from signing.timestamps import InProcessTimeStamper


def stock_signer(home) -> signers.SimpleSigner:
    """pyHanko's plain SimpleSigner holding the home's seal key (no edoc code signs)."""
    ours = home.seal_signer
    return signers.SimpleSigner(
        signing_cert=ours.signing_cert, signing_key=ours.signing_key, cert_registry=ours.cert_registry
    )


def sign(data: bytes, home, field: str, *, certify: bool = False, docmdp=fields.MDPPerm.FILL_FORMS,
         timestamp: bool = False, lt: bool = False, password: str | None = None,
         subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED, lock: list[str] | None = None) -> bytes:
    """Sign ``data`` in a new (or the empty) field ``field``, as another producer would."""
    w = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    if password is not None:
        w.encrypt(password)
    vc = None
    if lt:
        vc = ValidationContext(trust_roots=[_asn1(c) for c in home.pki.trust_anchors],
                               allow_fetching=False, revocation_mode="soft-fail")
        subfilter = fields.SigSeedSubFilter.PADES
    meta = signers.PdfSignatureMetadata(
        field_name=field,
        certify=certify,
        docmdp_permissions=docmdp,
        subfilter=subfilter,
        embed_validation_info=lt,
        validation_context=vc,
    )
    spec = None
    if lock is not None:
        spec = fields.SigFieldSpec(field, field_mdp_spec=fields.FieldMDPSpec(
            fields.FieldMDPAction.INCLUDE, fields=lock))
    ts = InProcessTimeStamper(home.tsa) if (timestamp or lt) else None
    out = signers.PdfSigner(meta, stock_signer(home), timestamper=ts, new_field_spec=spec).sign_pdf(w)
    return out.getvalue()


def doc_timestamp(data: bytes, home, field: str = "DocTS") -> bytes:
    """A document (archive) timestamp as a new revision."""
    w = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    out = PdfTimeStamper(InProcessTimeStamper(home.tsa), field_name=field).timestamp_pdf(w, "sha256")
    return out.getvalue()


class _TimestampUnderSig(pdf_byterange.DocumentTimestamp):
    def __init__(self, bytes_reserved=None):
        pdf_byterange.PdfSignedData.__init__(
            self, obj_type=generic.pdf_name("/Sig"),
            subfilter=fields.SigSeedSubFilter.ETSI_RFC3161, bytes_reserved=bytes_reserved)


def rfc3161_under_sig(data: bytes, home, monkeypatch) -> bytes:
    """A document timestamp whose dictionary says ``/Type /Sig`` (seen in the wild)."""
    monkeypatch.setattr(pdf_signer, "DocumentTimestamp", _TimestampUnderSig)
    try:
        return doc_timestamp(data, home, "TSasSig")
    finally:
        monkeypatch.undo()


def encrypted(data: bytes, user_password: str = "") -> bytes:
    """The same document encrypted (AES-256) with this user password and another owner one."""
    w = copy_into_new_writer(PdfFileReader(BytesIO(data)))
    w.encrypt("owner-secret", user_password)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def empty_field(data: bytes, name: str = "Unsigned", page: int = 0) -> bytes:
    """An empty signature field, as a form waiting for a second signer."""
    w = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    fields.append_signature_field(w, fields.SigFieldSpec(name, on_page=page, box=(300, 60, 500, 120)))
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def annotate(data: bytes) -> bytes:
    """A sticky-note comment added on the first page as an incremental update."""
    w = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Text"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (50, 50, 70, 70)]),
        generic.NameObject("/Contents"): generic.TextStringObject("Checked by the registrar"),
    })
    annots = page.get("/Annots", generic.ArrayObject())
    annots = generic.ArrayObject([*annots, w.add_object(annot)])
    page[generic.NameObject("/Annots")] = annots
    w.update_container(page)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


def change_content(data: bytes, text: bytes = b"(Forged line) Tj") -> bytes:
    """A new content stream appended to the first page: what the page shows changes."""
    w = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    page = w.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 700 Td " + text + b" ET")
    contents = page.raw_get("/Contents")
    items = list(contents) if isinstance(contents, generic.ArrayObject) else [contents]
    page[generic.NameObject("/Contents")] = generic.ArrayObject([*items, w.add_object(stream)])
    w.update_container(page)
    out = BytesIO()
    w.write(out)
    return out.getvalue()


# -- edits of the last signature's /Contents or dictionary (outside what it signs) ----


def _last_contents(data: bytes) -> tuple[int, int]:
    """Start and end (exclusive) of the hex digits of the last signature's /Contents."""
    match = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data))[-1]
    _, first_len, second_start, _ = (int(g) for g in match.groups())
    return first_len + 1, second_start - 1


def replace_last_cms(data: bytes, edit) -> bytes:
    """The file with the last signature's CMS replaced by ``edit(ContentInfo) -> bytes``."""
    start, end = _last_contents(data)
    der = bytes.fromhex(data[start:end].decode())
    new = edit(cms.ContentInfo.load(der.rstrip(b"\0") if False else der))
    digits = new.hex().encode()
    assert len(digits) <= end - start, "the new CMS does not fit"
    return data[:start] + digits.ljust(end - start, b"0") + data[end:]


def strip_certificates(info: cms.ContentInfo) -> bytes:
    signed = info["content"]
    signed["certificates"] = None
    return info.dump(force=True)


def two_signer_infos(info: cms.ContentInfo) -> bytes:
    signed = info["content"]
    (si,) = signed["signer_infos"]
    signed["signer_infos"] = cms.SignerInfos([si, si.copy()])
    return info.dump(force=True)


def garbage(_info: cms.ContentInfo) -> bytes:
    return b"\x30\x82\xff\xff" + b"not a signature at all" * 4


def plain_ecdsa(home):
    """An edit making the CMS a BSI TR-03111 plain-ECDSA signature (ecdsa-plain-SHA256, r||s),
    consistently: the algorithm-protection attribute names it too, and the signed
    attributes are signed again with the seal key."""
    from asn1crypto.algos import DSASignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_der_private_key(home.seal_signer.signing_key.dump(), None)

    def edit(info: cms.ContentInfo) -> bytes:
        signed = info["content"]
        (si,) = signed["signer_infos"]
        plain = {"algorithm": "0.4.0.127.0.7.1.1.4.1.3"}
        attrs = si["signed_attrs"]
        for attr in attrs:
            if attr["type"].native == "cms_algorithm_protection":
                value = attr["values"][0]
                value["signature_algorithm"] = plain
        si["signed_attrs"] = attrs
        si["signature_algorithm"] = plain
        der = key.sign(si["signed_attrs"].untag().dump(force=True), ec.ECDSA(hashes.SHA256()))
        rs = DSASignature.load(der).native
        si["signature"] = rs["r"].to_bytes(32, "big") + rs["s"].to_bytes(32, "big")
        return info.dump(force=True)

    return edit


def rename_last_subfilter(data: bytes, new: bytes = b"/adbe.pkcs7.sha1") -> bytes:
    """The last signature's /SubFilter renamed (padded to the same length)."""
    old = b"/adbe.pkcs7.detached"
    at = data.rindex(old)
    return data[:at] + new.ljust(len(old)) + data[at + len(old):]


def _asn1(cert):
    from signing.trust import as_asn1

    return as_asn1(cert)
