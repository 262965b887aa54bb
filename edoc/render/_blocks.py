"""Template blocks turned into drawing: boxed blocks at fixed places, the rest as page flow.

A block with a ``box`` (millimetres from the page's top-left corner) is drawn
where it says, on the first page, every page or the later pages (``pages``).
A block without one flows from the top of the first page's flow area down,
onto more pages as needed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from ..errors import EmblemMissing, TextOverflow
from ._fill import FillContext, fill, first_field, localized, lookup
from ._qr import draw_qr
from ._text import TextFlowable, TextStyle, color, draw_lines, layout_lines

__all__ = ["Box", "Blocks", "StampRecorder", "resolve_style"]

_STYLE_KEYS = {"size", "weight", "italic", "align", "leading", "color"}


@dataclass(frozen=True)
class Box:
    """A rectangle in PDF points, origin at the bottom-left of the page."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_mm(cls, box: Mapping[str, float], page_height: float) -> Box:
        w, h = box["w"] * mm, box["h"] * mm
        return cls(box["x"] * mm, page_height - box["y"] * mm - h, w, h)


def resolve_style(spec: Any, styles: Mapping[str, Any], default: str = "body") -> TextStyle:
    """A :class:`TextStyle` from a style name, or an object ``{"base": name, ...overrides}``."""
    if spec is None:
        spec = default
    if isinstance(spec, str):
        spec = {"base": spec}
    base = (
        dict(styles.get(spec.get("base", default), {}))
        if spec.get("base", default) in styles
        else {}
    )
    merged = {**base, **{k: v for k, v in spec.items() if k != "base"}}
    kwargs = {k: merged[k] for k in _STYLE_KEYS if k in merged}
    if "first_indent_mm" in merged:
        kwargs["first_indent"] = merged["first_indent_mm"] * mm
    return TextStyle(**kwargs)


class StampRecorder:
    """Where the seal's visible stamp goes: (page index, x1, y1, x2, y2) in PDF points."""

    def __init__(self) -> None:
        self.box: tuple[int, float, float, float, float] | None = None

    def record(self, page_index: int, x1: float, y1: float, x2: float, y2: float) -> None:
        if self.box is None:
            self.box = (page_index, round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2))


_image_cache: dict[tuple[str, float, int], ImageReader] = {}
_image_lock = threading.Lock()


def _emblem(path: Path | None) -> ImageReader | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        raise EmblemMissing(
            f"the agency emblem {path} does not exist; fix the emblem path in the agency settings"
        ) from None
    key = (str(path), st.st_mtime, st.st_size)
    reader = _image_cache.get(key)
    if reader is None:
        try:
            reader = ImageReader(str(path))
            reader.getSize()
        except Exception as exc:  # ReportLab/Pillow raise many kinds for a bad image
            raise EmblemMissing(
                f"the agency emblem {path} is not a readable PNG or JPEG image ({exc})"
            ) from exc
        with _image_lock:
            _image_cache[key] = reader
    return reader


def _draw_image(canvas, reader: ImageReader, x: float, y: float, w: float, h: float) -> None:
    canvas.drawImage(reader, x, y, w, h, preserveAspectRatio=True, anchor="c", mask="auto")


class _ImageFlowable(Flowable):
    def __init__(self, reader: ImageReader | None, w: float, h: float, align: str):
        super().__init__()
        self.reader, self.w, self.h, self.hAlign = reader, w, h, align.upper()

    def wrap(self, availWidth, availHeight):  # noqa: N803
        return self.w, self.h

    def draw(self):
        if self.reader is not None:
            _draw_image(self.canv, self.reader, 0, 0, self.w, self.h)


#: what the visible seal stamp says unless a template's stamp block gives its own ``text``
DEFAULT_STAMP_TEXT = {
    "th": "ประทับตราอิเล็กทรอนิกส์\n{@agency}\nเมื่อ {@issued_on|thai_date}",
    "en": "Electronically sealed\n{@agency}\n{@issued_on|en_date}",
}
_STAMP_COLOR = "#1f3a68"


def draw_stamp(canvas, x: float, y: float, w: float, h: float, text: str) -> None:
    """The seal's visible stamp: a framed, centred text the signature widget sits on.

    It is part of the page (typeset with shaping like all Thai text) so that the
    sealer's widget can stay blank and never subset a font per document.
    """
    canvas.saveState()
    canvas.setStrokeColor(color(_STAMP_COLOR))
    canvas.setLineWidth(0.8)
    canvas.roundRect(x, y, w, h, 3, stroke=1, fill=0)
    canvas.restoreState()
    pad = 3.0
    lines = []
    style = TextStyle(size=9, align="center", leading=1.2, color=_STAMP_COLOR)
    for size in (9, 8, 7, 6):  # shrink to fit; the agency name may be long
        style = TextStyle(size=size, align="center", leading=1.2, color=_STAMP_COLOR)
        lines = layout_lines(text, w - 2 * pad, style)
        if len(lines) * style.line_height <= h - 2 * pad:
            break
    block_h = min(len(lines) * style.line_height, h - 2 * pad)
    top = y + h - pad - (h - 2 * pad - block_h) / 2
    draw_lines(canvas, lines[: max(1, int((h - 2 * pad) // style.line_height))], x + pad, top, w - 2 * pad, style)


class _StampFlowable(Flowable):
    def __init__(self, recorder: StampRecorder, w: float, h: float, indent: float, text: str):
        super().__init__()
        self.recorder, self.w, self.h, self.indent, self.text = recorder, w, h, indent, text

    def wrap(self, availWidth, availHeight):  # noqa: N803
        return availWidth, self.h

    def draw(self):
        draw_stamp(self.canv, self.indent, 0, self.w, self.h, self.text)
        x1, y1 = self.canv.absolutePosition(self.indent, 0)
        x2, y2 = self.canv.absolutePosition(self.indent + self.w, self.h)
        self.recorder.record(self.canv.getPageNumber() - 1, x1, y1, x2, y2)


class Blocks:
    """One template's blocks, for one document: draws boxed blocks and builds the flow."""

    def __init__(
        self,
        blocks: list[Mapping[str, Any]],
        *,
        styles: Mapping[str, Any],
        ctx: FillContext,
        template_name: str,
        verify_url: str,
        emblem: Path | None,
        page_height: float,
        stamp: StampRecorder,
    ):
        self.blocks = [b for b in blocks if self._wanted(b, ctx)]
        self.styles = styles
        self.ctx = ctx
        self.template_name = template_name
        self.verify_url = verify_url
        self.page_height = page_height
        self.stamp = stamp
        self.emblem = _emblem(emblem) if any(b["type"] == "image" for b in self.blocks) else None
        self.boxed = [b for b in self.blocks if "box" in b]
        self.flowing = [b for b in self.blocks if "box" not in b]
        # Lay out the first page's boxed text now, so that overflow is an error before any drawing.
        self._prepared = {
            id(b): self._prepare_text(b, i)
            for i, b in enumerate(self.boxed)
            if b["type"] in ("text", "paragraphs")
        }

    def _stamp_text(self, block: Mapping[str, Any]) -> str:
        pattern = localized(block.get("text") or DEFAULT_STAMP_TEXT, self.ctx.lang)
        return fill(pattern, self.ctx)

    @staticmethod
    def _wanted(block: Mapping[str, Any], ctx: FillContext) -> bool:
        when = block.get("when")
        if not when:
            return True
        value = lookup(ctx, when)
        return value not in (None, "", [], {})

    def _field_name(self, block: Mapping[str, Any], text: str, index: int) -> str:
        return block.get("field") or first_field(text) or f"{self.template_name}.blocks[{index}]"

    def _text_of(self, block: Mapping[str, Any]) -> str:
        if "field" in block and "text" not in block:
            value = lookup(self.ctx, block["field"])
            if isinstance(value, list):
                return "\n".join(str(v) for v in value)
            return "" if value is None else str(value)
        return fill(localized(block.get("text", ""), self.ctx.lang), self.ctx)

    def _style(self, block: Mapping[str, Any], key: str = "style") -> TextStyle:
        return resolve_style(block.get(key), self.styles)

    # --- boxed blocks ---------------------------------------------------------------

    def _prepare_text(self, block: Mapping[str, Any], index: int):
        if "@page" in str(localized(block.get("text", ""), self.ctx.lang)):
            return None  # depends on the page: laid out when drawn
        return self._fit(block, self._text_of(block), index)

    def _fit(self, block: Mapping[str, Any], text: str, index: int):
        box = Box.from_mm(block["box"], self.page_height)
        style = self._style(block)
        min_size = block.get("min_size", style.size) if block.get("fit") == "shrink" else style.size
        while True:
            lines = layout_lines(text, box.w, style)
            needed = len(lines) * style.line_height
            if needed <= box.h + 0.01:
                return box, style, lines
            if style.size - 1 >= min_size:
                style = replace(style, size=style.size - 1)
                continue
            room = int((box.h + 0.01) // style.line_height)
            raise TextOverflow(
                self._field_name(
                    block, str(localized(block.get("text", ""), self.ctx.lang)), index
                ),
                f"is too long for its place in template {self.template_name!r}: it needs {len(lines)} "
                f"line{'s' if len(lines) != 1 else ''} at {style.size:g} pt and the box holds {room}; "
                "shorten the text (or make the box larger in template.json)",
            )

    def draw_page(self, canvas, page_number: int) -> None:
        """Draw the boxed blocks that belong on page ``page_number`` (1-based)."""
        for i, block in enumerate(self.boxed):
            pages = block.get("pages", "first")
            if (pages == "first" and page_number != 1) or (pages == "rest" and page_number == 1):
                continue
            kind = block["type"]
            box = Box.from_mm(block["box"], self.page_height)
            if kind in ("text", "paragraphs"):
                prepared = self._prepared.get(id(block))
                if prepared is None:
                    page_ctx = FillContext(
                        self.ctx.data, self.ctx.lang, {**self.ctx.values, "page": page_number}
                    )
                    text = fill(localized(block.get("text", ""), self.ctx.lang), page_ctx)
                    prepared = self._fit(block, text, i)
                box, style, lines = prepared
                used = len(lines) * style.line_height
                valign = block.get("valign", "top")
                top = box.y + box.h
                if valign == "middle":
                    top -= (box.h - used) / 2
                elif valign == "bottom":
                    top -= box.h - used
                draw_lines(canvas, lines, box.x, top, box.w, style)
            elif kind == "image":
                if self.emblem is not None:
                    _draw_image(canvas, self.emblem, box.x, box.y, box.w, box.h)
            elif kind == "qr":
                side = min(box.w, box.h)
                draw_qr(
                    canvas,
                    self.verify_url,
                    box.x + (box.w - side) / 2,
                    box.y + (box.h - side) / 2,
                    side,
                )
            elif kind == "stamp":
                draw_stamp(canvas, box.x, box.y, box.w, box.h, self._stamp_text(block))
                self.stamp.record(page_number - 1, box.x, box.y, box.x + box.w, box.y + box.h)
            elif kind == "rect":
                canvas.saveState()
                canvas.setStrokeColor(color(block.get("color", "#000000")))
                canvas.setLineWidth(block.get("line_width", 1))
                canvas.rect(box.x, box.y, box.w, box.h, stroke=1, fill=0)
                canvas.restoreState()

    # --- flowing blocks -------------------------------------------------------------

    def story(self, frame_width: float) -> list[Flowable]:
        """The flowables of the blocks without a box, in order."""
        out: list[Flowable] = []
        for index, block in enumerate(self.flowing):
            made = self._flowables(block, index, frame_width)
            if block.get("keep_with_next") and made:
                for f in made:
                    f.keepWithNext = 1
            out.extend(made)
        return out

    def _text_flowable(self, block: Mapping[str, Any], text: str, index: int) -> TextFlowable:
        return TextFlowable(
            text,
            self._style(block),
            field=self._field_name(
                block, str(localized(block.get("text", ""), self.ctx.lang)), index
            ),
            indent_left=block.get("indent_left_mm", 0) * mm,
            indent_right=block.get("indent_right_mm", 0) * mm,
            space_before=block.get("space_before_mm", 0) * mm,
            space_after=block.get("space_after_mm", 0) * mm,
        )

    def _flowables(
        self, block: Mapping[str, Any], index: int, frame_width: float
    ) -> list[Flowable]:
        kind = block["type"]
        if kind == "text":
            return [self._text_flowable(block, self._text_of(block), index)]
        if kind == "paragraphs":
            value = lookup(self.ctx, block["field"])
            items = value if isinstance(value, list) else [value] if value else []
            out = []
            for n, item in enumerate(items):
                f = self._text_flowable({**block, "text": None}, str(item), index)
                f.field = f"{block['field']}.{n}"
                out.append(f)
            return out
        if kind == "spacer":
            return [Spacer(0, block.get("height_mm", 5) * mm)]
        if kind == "image":
            return [
                _ImageFlowable(
                    self.emblem,
                    block["width_mm"] * mm,
                    block["height_mm"] * mm,
                    block.get("align", "center"),
                )
            ]
        if kind == "stamp":
            return [
                _StampFlowable(
                    self.stamp,
                    block["width_mm"] * mm,
                    block["height_mm"] * mm,
                    block.get("indent_left_mm", 0) * mm,
                    self._stamp_text(block),
                )
            ]
        if kind == "table":
            return [self._table(block, frame_width)]
        return []

    def _table(self, block: Mapping[str, Any], frame_width: float) -> Table:
        columns = block["columns"]
        cell_style = self._style(block)
        head_style = (
            self._style(block, "header_style")
            if block.get("header_style")
            else replace(cell_style, weight="bold")
        )
        foot_style = (
            self._style(block, "footer_style")
            if block.get("footer_style")
            else replace(cell_style, weight="bold")
        )
        fixed = sum(c.get("width_mm", 0) * mm for c in columns)
        flexible = [c for c in columns if "width_mm" not in c]
        rest = max(frame_width - fixed, 0) / len(flexible) if flexible else 0
        widths = [c["width_mm"] * mm if "width_mm" in c else rest for c in columns]
        field = block["field"]

        def cell(text: str, style: TextStyle, column: Mapping[str, Any], name: str) -> TextFlowable:
            return TextFlowable(
                text, replace(style, align=column.get("align", style.align)), field=name
            )

        rows: list[list[Flowable]] = [
            [
                cell(str(localized(c.get("header", ""), self.ctx.lang)), head_style, c, field)
                for c in columns
            ]
        ]
        items = lookup(self.ctx, field) or []
        for n, item in enumerate(items):
            rows.append(
                [
                    cell(
                        fill(localized(c["text"], self.ctx.lang), self.ctx, row=item),
                        cell_style,
                        c,
                        f"{field}.{n}",
                    )
                    for c in columns
                ]
            )
        footer = block.get("footer", [])
        for footer_row in footer:
            rows.append(
                [
                    cell(fill(str(localized(text, self.ctx.lang)), self.ctx), foot_style, c, field)
                    for text, c in zip(footer_row, columns, strict=True)
                ]
            )
        grid = color(block.get("grid_color", "#808080"))
        commands = [
            ("GRID", (0, 0), (-1, -1), 0.5, grid),
            ("BACKGROUND", (0, 0), (-1, 0), color(block.get("header_background", "#EEEEEE"))),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
        if footer:
            commands.append(
                ("LINEABOVE", (0, len(rows) - len(footer)), (-1, len(rows) - len(footer)), 1, grid)
            )
        table = Table(
            rows, colWidths=widths, repeatRows=1, hAlign="LEFT", style=TableStyle(commands)
        )
        table.spaceBefore = block.get("space_before_mm", 0) * mm
        table.spaceAfter = block.get("space_after_mm", 0) * mm
        return table
