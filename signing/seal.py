"""PAdES sealing of PDFs with pyHanko.

A :class:`Sealer` is built once per process with its collaborators (signer,
timestamper, revocation source) and then seals any number of documents:

>>> sealer = Sealer(SealSettings(level="B-T"), signer=signer, timestamper=ts)  # doctest: +SKIP
>>> sealed = sealer.seal(pdf_bytes)  # doctest: +SKIP

The default is a certification signature (DocMDP P=2: no changes except
further signatures, timestamps and validation data) at PAdES level B-T.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Literal

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields
from pyhanko.sign.ades.api import CAdESSignedAttrSpec
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp.base import BaseStamp, BaseStampStyle
from pyhanko_certvalidator import ValidationContext

from ._aio import run_sync
from .errors import SealError, TimestampError

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LEVELS: tuple[Level, ...] = ("B-B", "B-T", "B-LT", "B-LTA")

#: (page index, x1, y1, x2, y2) in PDF points
StampBox = tuple[int, float, float, float, float]


@dataclass(frozen=True)
class SealSettings:
    """How documents are sealed. Every cryptographic choice is named here."""

    level: Level = "B-T"
    """PAdES baseline level: B-B, B-T (signature timestamp), B-LT (+ validation data), B-LTA (+ archive timestamp)."""
    digest_algorithm: str = "sha256"
    """Digest of the document and of the signed attributes."""
    certify: bool = True
    """Make it a certification (DocMDP) signature, so later edits are detectable as forbidden."""
    docmdp: MDPPerm = MDPPerm.FILL_FORMS
    """What the certification still allows: P=2 permits further signatures and timestamps only
    (there are no form fields to fill in our documents)."""
    field_name: str = "edoc-seal"
    """Name of the signature field."""
    reason: str | None = "Official electronic document"
    """Reason written into the signature dictionary."""
    location: str | None = None
    """Location written into the signature dictionary."""
    signature_size: int | None = None
    """Bytes reserved for the CMS blob; None lets pyHanko estimate (signs twice, slower)."""
    stamp_font: str | None = None
    """TrueType font for a visible stamp's text (Thai needs one, e.g. Sarabun)."""
    stamp_text: str = "Electronically sealed by %(signer)s\nTime: %(ts)s"
    """Text of a visible stamp; %(signer)s and %(ts)s are filled in by pyHanko. Empty: a blank
    widget over a stamp the page already shows."""
    content_timestamp: bool = True
    """At B-T and above, also timestamp the content before signing (a signed attribute): it
    proves the seal was made *after* that time, so a seal made after its key was revoked
    for compromise verifies as TOTAL_FAILED/REVOKED, not merely indeterminate."""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown PAdES level {self.level!r}; choose one of {', '.join(LEVELS)}")


class Sealer:
    """Seals PDFs with one agency key; reusable and safe to share across threads."""

    def __init__(
        self,
        settings: SealSettings,
        *,
        signer: Signer,
        timestamper: TimeStamper | None = None,
        validation_context: Callable[[], ValidationContext] | None = None,
    ):
        if settings.level != "B-B" and timestamper is None:
            raise ValueError(f"level {settings.level} needs a timestamper")
        if settings.level in ("B-LT", "B-LTA") and validation_context is None:
            raise ValueError(
                f"level {settings.level} needs a validation context that supplies revocation data"
            )
        self.settings = settings
        self._signer = signer
        self._timestamper = timestamper
        self._validation_context = validation_context
        self._stamp_style = _stamp_style(settings)

    @property
    def signer(self) -> Signer:
        """The pyHanko signer this sealer uses."""
        return self._signer

    def seal(self, pdf: bytes, *, stamp_box: StampBox | None = None) -> bytes:
        """Seal ``pdf`` and return the signed file (synchronous)."""
        return run_sync(self.async_seal(pdf, stamp_box=stamp_box))

    async def async_seal(self, pdf: bytes, *, stamp_box: StampBox | None = None) -> bytes:
        """Seal ``pdf`` and return the signed file."""
        stream = BytesIO(pdf)
        # in place: the update is appended to the input buffer, instead of pyHanko
        # copying the whole input into a new output in 4 KB chunks (~1 ms per MB);
        # the BytesIO still copies the input once, on its first write
        await self._sign(stream, stamp_box)
        return stream.getvalue()

    def seal_parts(self, pdf: bytes, *, stamp_box: StampBox | None = None) -> SealedPdf:
        """Seal ``pdf``; a large one is not copied (see :class:`SealedPdf`). Synchronous."""
        return run_sync(self.async_seal_parts(pdf, stamp_box=stamp_box))

    async def async_seal_parts(self, pdf: bytes, *, stamp_box: StampBox | None = None) -> SealedPdf:
        """Seal ``pdf`` and return the signed file as parts to write one after another.

        From :data:`APPEND_WITHOUT_COPY` bytes on, the parts are ``pdf`` itself and
        the update appended to it: beyond hashing the input, sealing then costs
        about the same for 50 MB as for 5. Smaller inputs come back as one part
        (a Python-level stream reads a PDF's structure slower than ``BytesIO``).
        ``pdf`` must not change while or after it is sealed.
        """
        if len(pdf) < APPEND_WITHOUT_COPY:
            return SealedPdf((await self.async_seal(pdf, stamp_box=stamp_box),))
        stream = _AppendingStream(pdf)
        await self._sign(stream, stamp_box)
        return SealedPdf((pdf, stream.appended()))

    async def _sign(self, stream, stamp_box: StampBox | None) -> None:
        """Sign the PDF in ``stream``, appending the signature to the stream."""
        s = self.settings
        lt = s.level in ("B-LT", "B-LTA")
        meta = PdfSignatureMetadata(
            field_name=s.field_name,
            md_algorithm=s.digest_algorithm,
            subfilter=SigSeedSubFilter.PADES,
            certify=s.certify,
            docmdp_permissions=s.docmdp,
            reason=s.reason,
            location=s.location,
            embed_validation_info=lt,
            use_pades_lta=s.level == "B-LTA",
            validation_context=(
                self._validation_context() if lt and self._validation_context else None
            ),
            cades_signed_attr_spec=(
                CAdESSignedAttrSpec(timestamp_content=True)
                if s.content_timestamp and s.level != "B-B"
                else None
            ),
        )
        field_spec = None
        if stamp_box is not None:
            page, x1, y1, x2, y2 = stamp_box
            box = (int(x1), int(y1), int(x2), int(y2))
            field_spec = SigFieldSpec(s.field_name, on_page=page, box=box)
        signer = PdfSigner(
            meta,
            signer=self._signer,
            timestamper=self._timestamper if s.level != "B-B" else None,
            stamp_style=self._stamp_style if stamp_box is not None else None,
            new_field_spec=field_spec,
        )
        try:
            writer = IncrementalPdfFileWriter(stream, strict=False)
        except Exception as exc:
            raise SealError(f"the input is not a readable PDF: {exc}") from exc
        try:
            await signer.async_sign_pdf(
                writer, in_place=True, bytes_reserved=s.signature_size, chunk_size=_HASH_CHUNK
            )
        except TimestampError:
            raise
        except Exception as exc:
            if "timestamp" in type(exc).__name__.lower() or "TSA" in str(exc):
                raise TimestampError(f"could not timestamp the seal: {exc}") from exc
            raise SealError(f"sealing failed: {exc}") from exc


#: from this size on, :meth:`Sealer.seal_parts` appends the signature without copying the input
APPEND_WITHOUT_COPY = 4 * 1024 * 1024
# pyHanko hashes a stream it cannot take a memoryview of through a buffer of this size
_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SealedPdf:
    """A sealed PDF as parts to write one after another (the input, then what was appended).

    ``bytes(sealed)`` joins them into one buffer, which copies the input.
    """

    parts: tuple[bytes, ...]

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def __bytes__(self) -> bytes:
        return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)

    def write_to(self, stream) -> None:
        """Write the whole file to a binary stream."""
        for part in self.parts:
            stream.write(part)


class _AppendingStream(io.RawIOBase):
    """The input PDF, read-only, with everything written after its end kept apart.

    What pyHanko's in-place signing needs (read, seek, tell, write at the end, and
    overwrite what it wrote), without the copy of the input a ``BytesIO`` makes on
    its first write.
    """

    def __init__(self, head: bytes):
        super().__init__()
        self._head = memoryview(head)
        self._size = len(head)
        self._tail = bytearray()
        self._pos = 0

    def appended(self) -> bytes:
        """Everything written after the input's end."""
        return bytes(self._tail)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + len(self._tail) + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        start, end = self._pos, self._size + len(self._tail)
        count = max(0, min(len(view), end - start))
        from_head = max(0, min(count, self._size - start))
        if from_head:
            view[:from_head] = self._head[start : start + from_head]
        if count > from_head:
            at = start + from_head - self._size
            view[from_head:count] = self._tail[at : at + count - from_head]
        self._pos = start + count
        return count

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        if self._pos < self._size:
            raise io.UnsupportedOperation("the input part of the stream is read-only")
        at = self._pos - self._size
        if at > len(self._tail):
            self._tail.extend(bytes(at - len(self._tail)))  # as a file: the gap reads as zeros
        self._tail[at : at + len(data)] = data
        self._pos += len(data)
        return len(data)


class _BlankStamp(BaseStamp):
    def _render_inner_content(self):
        return []


@dataclass(frozen=True)
class _BlankStampStyle(BaseStampStyle):
    """An empty appearance (``q Q``): no text, no border, no font to name or embed."""

    border_width: int = 0

    def create_stamp(self, writer, box, text_params) -> _BlankStamp:
        return _BlankStamp(writer, self, box)


def _stamp_style(settings: SealSettings):
    from pyhanko.stamp import TextStampStyle

    if not settings.stamp_text:
        # A blank widget over a stamp the document already shows (the renderer
        # draws it): viewers still open the signature panel when it is clicked.
        # pyHanko's TextStampStyle with no text still wrote a text box in Courier,
        # a font no PDF/A document may leave unembedded.
        return _BlankStampStyle()
    if settings.stamp_font is None:
        return TextStampStyle(stamp_text=settings.stamp_text, border_width=1)
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.text import TextBoxStyle

    return TextStampStyle(
        stamp_text=settings.stamp_text,
        border_width=1,
        text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(settings.stamp_font), font_size=9),
    )


__all__ = ["APPEND_WITHOUT_COPY", "LEVELS", "Level", "SealSettings", "SealedPdf", "Sealer", "StampBox", "fields"]
