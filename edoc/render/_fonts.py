"""Sarabun, registered once per process, shaped with HarfBuzz and extractable as the same text.

ReportLab's shaping path (``TTFont(..., shapable=True)``) positions Thai marks
correctly, but its ToUnicode map is per glyph: a glyph that no character maps
to (the narrow tone mark that sits left on ป ฝ ฟ ฬ, ญ without its tail) comes
out of ``pdftotext`` as a private-use code point, and SARA AM — which HarfBuzz
splits into NIKHAHIT + SARA AA and reorders around the tone mark — comes out
as the wrong characters in the wrong order. :class:`ExtractableFont` fixes
both: after shaping, every HarfBuzz cluster whose glyphs do not already spell
its source text is drawn with private character codes whose ToUnicode entry
is that source text (first glyph) or nothing (the others).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from reportlab.pdfbase import pdfdoc, pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import ShapedStr, TTFont, shapeStr

__all__ = ["ExtractableFont", "clear_caches", "font_name", "shape", "WEIGHTS"]

#: style weight -> Sarabun file stem
WEIGHTS = {
    "thin": "Thin",
    "extralight": "ExtraLight",
    "light": "Light",
    "regular": "Regular",
    "medium": "Medium",
    "semibold": "SemiBold",
    "bold": "Bold",
    "extrabold": "ExtraBold",
}

_FIRST_UNMAPPED = 0xE000  # glyphs the cmap does not reach (same range ReportLab uses)
_FIRST_ALIAS = 0xF0000  # per-cluster aliases, in Supplementary Private Use Area-A
_CMAP_CHUNK = 100  # the CMap syntax allows at most 100 entries per bfchar block


def _sarabun_path(stem: str) -> Path:
    return Path(str(files("fontpkg_sarabun") / "files" / f"Sarabun-{stem}.ttf"))


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


class ExtractableFont(TTFont):
    """A shaped TrueType font whose text extracts back as the characters that were drawn."""

    def __init__(self, name: str, path: Path):
        super().__init__(name, str(path), shapable=True)
        self._lock = threading.Lock()
        self._texts: dict[int, str] = {}
        self._aliases: dict[tuple[int, str], int] = {}
        self._next_alias = _FIRST_ALIAS
        self._assign_unmapped_glyphs()
        self._cmaps: dict[tuple[str, tuple[int, ...]], tuple[str, _Formatted]] = {}
        self._subset_lock = threading.Lock()
        self._subsets = lru_cache(maxsize=256)(self._make_subset)
        self.face.makeSubset = lambda subset: self._subsets(tuple(subset))

    def _make_subset(self, subset: tuple[int, ...]) -> bytes:
        # ReportLab's font reader keeps a file position on the face, so two threads must
        # not subset the same face at once. Documents of one template mostly use the same
        # characters, so the cache saves most of the work too.
        with self._subset_lock:
            return type(self.face).makeSubset(self.face, list(subset))

    def _assign_unmapped_glyphs(self) -> None:
        # Done up front, in glyph order, so ReportLab never allocates codes lazily while
        # several threads render at once.
        face = self.face
        code = _FIRST_UNMAPPED
        for gid in range(face.numGlyphs):
            if gid in face.glyphToChar:
                continue
            while code in face.charToGlyph:
                code += 1
            face.charToGlyph[code] = gid
            face.glyphToChar[gid] = [code]
            face.charWidths[code] = face.hmetrics[gid][0] * 1000 / face.unitsPerEm
            self._texts[code] = "\ufffd"
            code += 1

    def _alias(self, code: int, text: str) -> int:
        gid = self.face.charToGlyph[code]
        key = (gid, text)
        alias = self._aliases.get(key)
        if alias is None:
            with self._lock:
                alias = self._aliases.get(key)
                if alias is None:
                    alias = self._next_alias
                    self._next_alias += 1
                    self.face.charToGlyph[alias] = gid
                    self.face.charWidths[alias] = self.face.charWidths.get(code, 0)
                    self._texts[alias] = text
                    self._aliases[key] = alias
        return alias

    def shape(self, text: str, size: float) -> ShapedStr:
        """Shape ``text`` with HarfBuzz; the result draws correctly and extracts as ``text``."""
        shaped = shapeStr(text, self.fontName, size, force=True)
        if not isinstance(shaped, ShapedStr):  # empty text
            return ShapedStr("", shapeData=[])
        data = shaped.__shapeData__
        chars = list(shaped)
        starts = sorted({sd.cluster for sd in data})
        span_end = dict(zip(starts, starts[1:] + [len(text)], strict=True))
        i = 0
        while i < len(chars):
            cluster = data[i].cluster
            j = i + 1
            while j < len(chars) and data[j].cluster == cluster:
                j += 1
            source = text[cluster : span_end[cluster]]
            if "".join(chars[i:j]) != source:
                # The whole source goes to the cluster's first spacing glyph (SARA AA in
                # SARA AM), so that extractors see it where the text advances.
                carrier = next((k for k in range(i, j) if data[k].x_advance), i)
                for k in range(i, j):
                    chars[k] = chr(self._alias(ord(chars[k]), source if k == carrier else ""))
            i = j
        return ShapedStr("".join(chars), shapeData=list(data))

    def width(self, shaped: ShapedStr, size: float) -> float:
        """Advance width of shaped text in points."""
        return sum(sd.x_advance for sd in shaped.__shapeData__) * size / 1000

    def addObjects(self, doc) -> None:  # noqa: N802 - ReportLab's name
        state = self.state.get(doc)
        if state is None:
            return super().addObjects(doc)
        names = [self.getSubsetInternalName(n, doc)[1:] for n in range(len(state.subsets))]
        subsets = [list(s) for s in state.subsets]
        _ours.adding = True  # ReportLab's ToUnicode maps would be replaced below: skip them
        try:
            super().addObjects(doc)
        finally:
            _ours.adding = False
        fonts = doc.idToObject["BasicFonts"].dict
        for name, subset in zip(names, subsets, strict=True):
            pdf_font = fonts[name]
            stream = doc.idToObject[pdf_font.ToUnicode.name]
            key = (str(pdf_font.BaseFont), tuple(subset))
            cached = self._cmaps.get(key)
            if cached is None:
                # the ToUnicode map, and the widths array formatted once (hundreds of numbers)
                cmap = self._to_unicode_cmap(*key)
                widths = _Formatted(pdf_font.Widths.format(doc))
                cached = self._cmaps[key] = (cmap, widths)
                if len(self._cmaps) > 1024:
                    self._cmaps.clear()
            stream.content, pdf_font.Widths = cached

    def _to_unicode_cmap(self, base_font: str, subset: tuple[int, ...]) -> str:
        entries = [
            f"<{i:02X}> <{_utf16_hex(self._texts.get(code, chr(code)))}>"
            for i, code in enumerate(subset)
        ]
        body: list[str] = []
        for k in range(0, len(entries), _CMAP_CHUNK):
            chunk = entries[k : k + _CMAP_CHUNK]
            body += [f"{len(chunk)} beginbfchar", *chunk, "endbfchar"]
        return "\n".join(
            [
                "/CIDInit /ProcSet findresource begin",
                "12 dict begin",
                "begincmap",
                f"/CIDSystemInfo << /Registry ({base_font}) /Ordering ({base_font}) /Supplement 0 >> def",
                f"/CMapName /{base_font} def",
                "/CMapType 2 def",
                "1 begincodespacerange",
                f"<00> <{len(subset) - 1:02X}>",
                "endcodespacerange",
                *body,
                "endcmap",
                "CMapName currentdict /CMap defineresource pop",
                "end",
                "end",
            ]
        )


_ours = threading.local()  # .adding: an ExtractableFont is adding its objects in this thread


_ORIGINAL_CMAP = ttfonts.makeToUnicodeCMap


def _make_to_unicode_cmap(fontname, subset):
    """ReportLab's ToUnicode map, except for ExtractableFont, which writes its own."""
    return "" if getattr(_ours, "adding", False) else _ORIGINAL_CMAP(fontname, subset)


class _Formatted(pdfdoc.PDFObject):
    """A direct PDF object already written out (the same bytes in every document)."""

    def __init__(self, data: bytes):
        self._data = data

    def format(self, document) -> bytes:
        return self._data


class _FlateMemo:
    """Flate compression that remembers its last few results, by content digest.

    A batch of one template embeds the same font subsets and ToUnicode maps in
    document after document (they change only when a name brings new
    characters); compressing them was a fifth of a render. The bytes out are
    exactly zlib's, as before; only repeated work is skipped. Installed on
    ReportLab's one Flate filter, so every stream gets it.
    """

    MIN_SIZE = 1024  # smaller streams compress faster than they hash and look up
    ENTRIES = 256

    def __init__(self, compress) -> None:
        self._compress = compress
        self._results: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, filter_, text):
        data = text.encode("utf8") if isinstance(text, str) else text
        if len(data) < self.MIN_SIZE:
            return self._compress(filter_, data)
        key = hashlib.blake2b(data, digest_size=20).digest() + len(data).to_bytes(8, "big")
        with self._lock:
            hit = self._results.get(key)
            if hit is not None:
                self._results.move_to_end(key)
                return hit
        result = self._compress(filter_, data)
        with self._lock:
            self._results[key] = result
            if len(self._results) > self.ENTRIES:
                self._results.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._results.clear()


_ORIGINAL_FLATE = pdfdoc.PDFStreamFilterZCompress.encode
_FLATE_MEMO = _FlateMemo(_ORIGINAL_FLATE)


def _flate_encode(self, text):
    return _FLATE_MEMO(self, text)


#: distribution whose internals this module changes, and the versions it was tested with
TESTED = ("reportlab", "5.1")


def install() -> None:
    """Put the ToUnicode skip and the Flate memo into ReportLab (idempotent).

    Patch: replaces ``reportlab.pdfbase.ttfonts.makeToUnicodeCMap`` (ReportLab's
    map is thrown away for an ExtractableFont, which writes its own: skipping it
    saves building one per subset per document) and
    ``pdfdoc.PDFStreamFilterZCompress.encode`` (the Flate memo: compressing the
    same font subsets and maps again was a fifth of a render). Installed by
    ``edoc.compat.install()``, never on import. Upstream: none filed. Tested
    with ReportLab 5.1.
    """
    ttfonts.makeToUnicodeCMap = _make_to_unicode_cmap
    pdfdoc.PDFStreamFilterZCompress.encode = _flate_encode  # type: ignore[method-assign]


def uninstall() -> None:
    """ReportLab's own ToUnicode maps and Flate filter again (idempotent)."""
    ttfonts.makeToUnicodeCMap = _ORIGINAL_CMAP
    pdfdoc.PDFStreamFilterZCompress.encode = _ORIGINAL_FLATE  # type: ignore[method-assign]


def installed() -> bool:
    """Whether ReportLab uses the ToUnicode skip and the Flate memo."""
    return (
        ttfonts.makeToUnicodeCMap is _make_to_unicode_cmap
        and pdfdoc.PDFStreamFilterZCompress.encode is _flate_encode
    )


_registry_lock = threading.Lock()


def font_name(weight: str = "regular", italic: bool = False) -> str:
    """Register (once per process) and return the ReportLab name of a Sarabun face."""
    stem = WEIGHTS.get(weight)
    if stem is None:
        raise ValueError(f"unknown font weight {weight!r}; use one of {', '.join(WEIGHTS)}")
    if italic:
        stem = "Italic" if stem == "Regular" else stem + "Italic"
    name = f"edoc-Sarabun-{stem}"
    if name not in pdfmetrics._fonts:  # noqa: SLF001 - ReportLab has no public "is registered"
        with _registry_lock:
            if name not in pdfmetrics._fonts:
                pdfmetrics.registerFont(ExtractableFont(name, _sarabun_path(stem)))
    return name


def get_font(name: str) -> ExtractableFont:
    font = pdfmetrics.getFont(name)
    assert isinstance(font, ExtractableFont)
    return font


@lru_cache(maxsize=16384)
def shape(name: str, size: float, text: str) -> tuple[ShapedStr, float]:
    """Shaped ``text`` in font ``name`` at ``size`` points, with its width; cached."""
    font = get_font(name)
    shaped = font.shape(text, size)
    return shaped, font.width(shaped, size)


def clear_caches() -> None:
    """Forget every shaped string, font subset, ToUnicode map and compressed stream."""
    shape.cache_clear()
    for font in list(pdfmetrics._fonts.values()):  # noqa: SLF001 - no public list of registered fonts
        if isinstance(font, ExtractableFont):
            font._subsets.cache_clear()
            font._cmaps.clear()
    _FLATE_MEMO.clear()
