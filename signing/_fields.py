"""Opening a PDF for verification and listing its signature fields one by one.

pyHanko's ``reader.embedded_signatures`` builds every signature in one go: one
unreadable signature (two SignerInfos, a broken ``/Contents``) raises for all of
them, and a ``/SubFilter`` it does not know is skipped with only a log line.
Here each field is taken on its own, so one bad part is reported under its own
field name and the good signatures beside it are still judged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from ._causes import Cause, cause_of

log = logging.getLogger(__name__)

#: SubFilters pyHanko can validate, by signature dictionary type.
SUPPORTED_SUBFILTERS = {
    "/Sig": {"/adbe.pkcs7.detached", "/ETSI.CAdES.detached", "/PBAD.PAdES"},
    "/DocTimeStamp": {"/ETSI.RFC3161"},
}


class PasswordRequired(Exception):
    """The PDF is encrypted and the given password (empty by default) does not open it."""


@dataclass
class Field:
    """One filled signature field: pyHanko's signature object, or why there is none."""

    name: str
    sig_type: str
    """``/Sig`` or ``/DocTimeStamp`` as the signature dictionary declares it."""
    sub_filter: str | None
    revision: int | None
    """The revision (0 = the original file) that wrote the signature, when known."""
    sig: EmbeddedPdfSignature | None = None
    problem: Cause | None = None
    as_timestamp: bool = False
    """``/ETSI.RFC3161`` under ``/Type /Sig``: judged as the timestamp it is."""


def open_pdf(data: bytes, *, password: str | None = None) -> tuple[PdfFileReader, bool]:
    """A reader for ``data``, decrypted with ``password`` (or the empty user password).

    Returns (reader, encrypted). Raises :class:`PasswordRequired` when the
    password does not open it, and pyHanko's errors for unreadable files.
    """
    reader = PdfFileReader(BytesIO(data), strict=False)
    if not reader.encrypted:
        return reader, False
    tried = [password] if password else [""]
    for candidate in tried:
        try:
            result = reader.decrypt(candidate)
        except Exception as exc:  # a public-key or unknown security handler
            raise PasswordRequired(f"{type(exc).__name__}: {exc}") from exc
        if result.status != AuthStatus.FAILED:
            return reader, True
    raise PasswordRequired("the password does not open this PDF")


def signature_fields(reader: PdfFileReader) -> tuple[list[Field], list[str]]:
    """(filled signature fields in signing order, names of empty signature fields)."""
    filled: list[Field] = []
    empty: list[str] = []
    for name, value, field_ref in enumerate_sig_fields(reader):
        if value is None:
            empty.append(str(name))
            continue
        filled.append(_field(reader, str(name), value, field_ref))
    filled.sort(key=lambda f: (f.revision is None, f.revision or 0))
    return filled, empty


def _field(reader: PdfFileReader, name: str, value, field_ref) -> Field:
    try:
        sig_obj = value.get_object()
        if not isinstance(sig_obj, generic.DictionaryObject):
            raise TypeError("the signature value is not a dictionary")
        sig_type = str(sig_obj.get("/Type", "/Sig"))
        sub_filter = sig_obj.get("/SubFilter")
        sub_filter = str(sub_filter) if sub_filter is not None else None
    except Exception as exc:
        return Field(name, "/Sig", None, None, problem=cause_of(exc))
    revision = None
    if isinstance(value, generic.IndirectObject):
        try:
            revision = reader.xrefs.get_last_change(value.reference)
        except KeyError:
            revision = None
    found = Field(name, sig_type, sub_filter, revision)
    if sig_type not in SUPPORTED_SUBFILTERS:
        found.problem = Cause.unsupported_type(sig_type)
        return found
    if sub_filter not in SUPPORTED_SUBFILTERS[sig_type]:
        if sig_type == "/Sig" and sub_filter == "/ETSI.RFC3161":
            found.as_timestamp = True
        else:
            found.problem = Cause.unsupported_subfilter(sub_filter)
            return found
    try:
        found.sig = EmbeddedPdfSignature(reader, field_ref, name)
    except Exception as exc:  # a CMS pyHanko cannot take apart
        log.info("signature %s cannot be read: %r", name, exc)
        found.problem = cause_of(exc)
        return found
    unknown = _unknown_algorithm(found.sig)
    if unknown is not None:
        # pyHanko would call it a broken signature (SIG_CRYPTO_FAILURE); it is one
        # this verifier cannot compute, e.g. BSI TR-03111 plain ECDSA
        found.problem = Cause.unsupported_algorithm(unknown)
    return found


def _unknown_algorithm(sig: EmbeddedPdfSignature) -> str | None:
    """The dotted OID of a signature algorithm asn1crypto (hence pyHanko) does not know."""
    try:
        algo = sig.signer_info["signature_algorithm"]["algorithm"]
        name = algo.native
    except Exception:
        return None
    if isinstance(name, str) and name.replace(".", "").isdigit():
        return algo.dotted
    return None
