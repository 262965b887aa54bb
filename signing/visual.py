"""What a signed revision looks like next to the final file: pages rendered, diffed, boxed.

The auditor's evidence for "what changed after signing": each page of both
files is rendered by poppler's ``pdftoppm`` (a separate process, so a hostile
PDF cannot take the verifier down), compared with Pillow, and the changed
pixels are grouped into boxes, given in PDF points from the page's top left.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

#: Resolution of the comparison; 72 is one pixel per PDF point.
DPI = 72
#: Side of the squares changed pixels are grouped by, in pixels.
TILE = 12
#: Seconds one rendering may take.
TIMEOUT = 60


class RenderError(Exception):
    """poppler could not render a file (missing tool, unreadable PDF, timeout)."""


@dataclass(frozen=True)
class PageDiff:
    """One page: whether it looks different, and where (boxes in PDF points)."""

    page: int
    """1 is the first page."""
    changed: bool
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    """(x0, y0, x1, y1) from the page's top left."""
    note: str | None = None
    """E.g. that the page exists in only one of the files."""
    image: str | None = None
    """Where the marked-up PNG was written, if asked for."""


def _render(pdf: bytes, folder: Path, prefix: str, password: str | None) -> list[Path]:
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RenderError("pdftoppm (poppler-utils) is not installed")
    src = folder / f"{prefix}.pdf"
    src.write_bytes(pdf)
    args = [tool, "-r", str(DPI), "-png"]
    if password:
        args += ["-upw", password]
    try:
        subprocess.run([*args, str(src), str(folder / prefix)], check=True, capture_output=True,
                       timeout=TIMEOUT)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"pdftoppm could not render the {prefix} file") from exc
    return sorted(folder.glob(f"{prefix}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def compare(
    signed: bytes, final: bytes, *, out_dir: Path | None = None, password: str | None = None
) -> list[PageDiff]:
    """Page-by-page comparison of ``signed`` (a signed revision) with ``final``."""
    with tempfile.TemporaryDirectory(prefix="edoc-visual-") as tmp:
        folder = Path(tmp)
        before = _render(signed, folder, "signed", password)
        after = _render(final, folder, "final", password)
        diffs = []
        for index in range(max(len(before), len(after))):
            number = index + 1
            if index >= len(before) or index >= len(after):
                where = "final file" if index >= len(before) else "signed revision"
                diffs.append(PageDiff(number, True, note=f"the page exists only in the {where}"))
                continue
            diffs.append(_page(number, before[index], after[index], out_dir))
        return diffs


def _page(number: int, before_path: Path, after_path: Path, out_dir: Path | None) -> PageDiff:
    with Image.open(before_path) as raw_a, Image.open(after_path) as raw_b:
        a, b = raw_a.convert("RGB"), raw_b.convert("RGB")
        if a.size != b.size:
            return PageDiff(number, True, note="the page size changed")
        mask = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 24 else 0)
        if mask.getbbox() is None:
            return PageDiff(number, False)
        boxes = _boxes(mask)
        scale = 72 / DPI
        points = tuple(tuple(round(v * scale, 1) for v in box) for box in boxes)
        image = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            marked = b.copy()
            draw = ImageDraw.Draw(marked)
            for box in boxes:
                draw.rectangle(box, outline=(220, 0, 0), width=3)
            target = out_dir / f"page-{number}-diff.png"
            marked.save(target)
            image = str(target)
        return PageDiff(number, True, points, image=image)  # type: ignore[arg-type]


def _boxes(mask: Image.Image) -> list[tuple[int, int, int, int]]:
    """Changed pixels grouped into boxes: tiles with a change, joined where they touch."""
    width, height = mask.size
    cols, rows = -(-width // TILE), -(-height // TILE)
    hot = set()
    for r in range(rows):
        for c in range(cols):
            box = (c * TILE, r * TILE, min(width, (c + 1) * TILE), min(height, (r + 1) * TILE))
            if mask.crop(box).getbbox() is not None:
                hot.add((r, c))
    boxes = []
    while hot:
        stack = [hot.pop()]
        group = []
        while stack:
            r, c = stack.pop()
            group.append((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    n = (r + dr, c + dc)
                    if n in hot:
                        hot.remove(n)
                        stack.append(n)
        r0 = min(g[0] for g in group)
        r1 = max(g[0] for g in group) + 1
        c0 = min(g[1] for g in group)
        c1 = max(g[1] for g in group) + 1
        region = mask.crop((c0 * TILE, r0 * TILE, min(width, c1 * TILE), min(height, r1 * TILE)))
        x0, y0, x1, y1 = region.getbbox() or (0, 0, 0, 0)
        boxes.append((c0 * TILE + x0, r0 * TILE + y0, c0 * TILE + x1, r0 * TILE + y1))
    return sorted(boxes, key=lambda b: (b[1], b[0]))
