"""Shaped, word-wrapped text: line fitting, drawing, and a flowable for running text.

Lines are broken between words (Thai words found by the dictionary segmenter)
and drawn from per-word HarfBuzz runs, so a Latin word inside Thai text is
shaped as Latin and a Thai word as Thai. Each line is wrapped in an
``/ActualText`` span: poppler (pdftotext) then returns the line's characters
exactly, whatever the glyph positions of stacked tone marks suggest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from reportlab.lib.colors import toColor
from reportlab.pdfbase.ttfonts import ShapedStr
from reportlab.platypus import Flowable

from .. import thai
from ._fonts import font_name, get_font, shape

__all__ = ["TextStyle", "Line", "color", "layout_lines", "draw_lines", "TextFlowable"]


@lru_cache(maxsize=64)
def color(spec: str):
    """A ReportLab colour for ``#RRGGBB`` or a name; cached (parsing one costs ~70 µs)."""
    return toColor(spec)


@dataclass(frozen=True)
class TextStyle:
    """How a block of text looks."""

    #: font size in points
    size: float = 16.0
    #: Sarabun weight: regular, bold, light, medium, semibold, ...
    weight: str = "regular"
    italic: bool = False
    #: left, center or right
    align: str = "left"
    #: line height as a multiple of the font size (Thai needs room for stacked marks)
    leading: float = 1.35
    color: str = "#000000"
    #: indent of the first line of each paragraph, in points
    first_indent: float = 0.0

    @property
    def font(self) -> str:
        return font_name(self.weight, self.italic)

    @property
    def line_height(self) -> float:
        return self.size * self.leading

    def baseline_offset(self) -> float:
        """Distance from the top of a line box to its baseline: the font's box, centred."""
        face = get_font(self.font).face
        ascent, descent = face.ascent / 1000 * self.size, -face.descent / 1000 * self.size
        return (self.line_height - ascent - descent) / 2 + ascent


@dataclass(frozen=True)
class Line:
    """One laid-out line: its source text, its shaped glyphs and their width in points."""

    text: str
    glyphs: ShapedStr
    width: float
    #: indent in points (first line of a paragraph)
    indent: float = 0.0


def _measure(style: TextStyle):
    name, size = style.font, style.size

    def measure(piece: str) -> float:
        return shape(name, size, piece)[1]

    return measure


def layout_lines(text: str, width: float, style: TextStyle) -> list[Line]:
    """Wrap ``text`` (newlines start paragraphs) into lines at most ``width`` points wide."""
    name, size = style.font, style.size
    measure = _measure(style)
    lines: list[Line] = []
    for paragraph in text.split("\n"):
        tokens = thai.segment_words(paragraph)
        fitted = thai.wrap_words(tokens, width, measure=measure, first_indent=style.first_indent)
        for i, pieces in enumerate(fitted):
            shaped = [shape(name, size, piece) for piece in pieces]
            # one ShapedStr for the line (adding them pairwise copies the glyph data each time)
            glyphs = ShapedStr(
                "".join(g for g, _ in shaped), shapeData=[d for g, _ in shaped for d in g.__shapeData__]
            )
            w = sum(pw for _, pw in shaped)
            indent = style.first_indent if i == 0 else 0.0
            lines.append(Line("".join(pieces), glyphs, w, indent))
    return lines


def _actual_text(text: str) -> str:
    return "/Span <</ActualText <FEFF" + text.encode("utf-16-be").hex().upper() + ">>> BDC"


def draw_lines(
    canvas, lines: Sequence[Line], x: float, top: float, width: float, style: TextStyle
) -> None:
    """Draw ``lines`` in a column ``width`` wide whose top edge is at ``top``."""
    if not lines:
        return
    canvas.saveState()
    canvas.setFillColor(color(style.color))
    baseline = top - style.baseline_offset()
    for line in lines:
        if line.text:
            if style.align == "center":
                lx = x + (width - line.width) / 2
            elif style.align == "right":
                lx = x + width - line.width
            else:
                lx = x + line.indent
            canvas.addLiteral(_actual_text(line.text))
            t = canvas.beginText(lx, baseline)
            t.setFont(style.font, style.size)
            _text_out(t, line.glyphs)
            canvas.drawText(t)
            canvas.addLiteral("EMC")
        baseline -= style.line_height
    canvas.restoreState()


class _TextOperators:
    """The PDF operators ReportLab writes for a shaped line, remembered per line.

    ``PDFTextObject._formatText`` walks a shaped line glyph by glyph in Python
    (a third of drawing a page); most lines of a template are the same labels in
    every document. The operators depend only on what the key holds: the font
    and its size, leading and rise, the subset codes the document gave the
    glyphs (``splitString``, which also records the glyphs the document uses),
    the subsets' names in the document, and the glyphs' positions. A line that
    differs in any of them is formatted by ReportLab, as before.
    """

    ENTRIES = 4096

    def __init__(self) -> None:
        self._ops: dict[tuple, tuple[str, int]] = {}

    def format(self, textobj, shaped: ShapedStr) -> str:
        doc = textobj._canvas._doc  # noqa: SLF001 - ReportLab's text object internals
        font = get_font(textobj._fontname)  # noqa: SLF001
        chunks = tuple(font.splitString(shaped, doc))
        key = (
            font.fontName,
            textobj._fontsize,  # noqa: SLF001
            textobj._leading,  # noqa: SLF001
            textobj._rise,  # noqa: SLF001
            textobj._curSubset,  # noqa: SLF001
            chunks,
            # naming a subset registers the font with the document, as ReportLab would
            tuple(font.getSubsetInternalName(subset, doc) for subset, _ in chunks),
            tuple(shaped.__shapeData__),
        )
        hit = self._ops.get(key)
        if hit is None:
            ops = textobj._formatText(shaped)  # noqa: SLF001
            if len(self._ops) >= self.ENTRIES:
                self._ops.clear()
            hit = self._ops[key] = (ops, textobj._curSubset)  # noqa: SLF001
        textobj._curSubset = hit[1]  # noqa: SLF001
        return hit[0]

    def clear(self) -> None:
        self._ops.clear()


_text_operators = _TextOperators()


def _text_out(textobj, shaped: ShapedStr) -> None:
    """``textobj.textOut(shaped)``, with the operators of lines seen before remembered.

    The text cursor is not advanced past the line (ReportLab measures the line
    again for that): every line is drawn by a text object of its own.
    """
    textobj._code.append(_text_operators.format(textobj, shaped))  # noqa: SLF001


def clear_caches() -> None:
    """Forget the operators of lines drawn so far."""
    _text_operators.clear()


class TextFlowable(Flowable):
    """Running text for the page flow: wraps to the frame, splits across pages by lines."""

    def __init__(
        self,
        text: str,
        style: TextStyle,
        *,
        field: str,
        indent_left: float = 0.0,
        indent_right: float = 0.0,
        space_before: float = 0.0,
        space_after: float = 0.0,
        lines: list[Line] | None = None,
    ):
        super().__init__()
        self.text = text
        self.style = style
        self.field = field
        self.indent_left = indent_left
        self.indent_right = indent_right
        self.spaceBefore = space_before
        self.spaceAfter = space_after
        self._lines = lines
        self._laid_width: float | None = None

    def __repr__(self) -> str:
        return f"<TextFlowable field={self.field}>"

    def _lines_for(self, avail_width: float) -> list[Line]:
        width = avail_width - self.indent_left - self.indent_right
        if self._lines is None or (
            self._laid_width is not None and abs(self._laid_width - width) > 0.01
        ):
            self._lines = layout_lines(self.text, width, self.style)
            self._laid_width = width
        elif self._laid_width is None:
            self._laid_width = width
        return self._lines

    def wrap(self, availWidth, availHeight):  # noqa: N803 - ReportLab's signature
        self.width = availWidth
        self.height = len(self._lines_for(availWidth)) * self.style.line_height
        return self.width, self.height

    def split(self, availWidth, availHeight):  # noqa: N803
        lines = self._lines_for(availWidth)
        fit = int(availHeight // self.style.line_height)
        if fit <= 0 or fit >= len(lines):
            return []
        # Keep at least two lines together at either end of a page break.
        if len(lines) >= 4:
            fit = max(2, min(fit, len(lines) - 2))
        if fit >= len(lines) or fit > availHeight // self.style.line_height:
            return []
        head = self._part(lines[:fit])
        head.spaceAfter = 0
        tail = self._part([*(lines[fit:])])
        tail.spaceBefore = 0
        return [head, tail]

    def _part(self, lines: list[Line]) -> TextFlowable:
        part = TextFlowable(
            "\n".join(line.text for line in lines),
            self.style,
            field=self.field,
            indent_left=self.indent_left,
            indent_right=self.indent_right,
            space_before=self.spaceBefore,
            space_after=self.spaceAfter,
            lines=lines,
        )
        part._laid_width = self._laid_width
        return part

    def draw(self):
        width = self.width - self.indent_left - self.indent_right
        draw_lines(self.canv, self._lines or [], self.indent_left, self.height, width, self.style)
