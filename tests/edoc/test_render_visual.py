"""Visual regression: page 1 of each built-in template, rasterised at 50 dpi, against reviewed PNGs.

The reference images in ``tests/edoc/reference/`` were looked at by a person
(tone marks stacked, nothing overlapping, layout sensible). To accept a
deliberate change, regenerate them with ``EDOC_UPDATE_REFERENCE=1`` and review
the new images before committing them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from reportlab.pdfbase.ttfonts import ShapeData, ShapedStr

import edoc.render._text as text_module
from edoc.render._fonts import get_font
from tests.edoc.conftest import REFERENCE, render_example
from tests.tools import require

#: largest mean grey-level difference (0-255) allowed in any 10 x 10 pixel tile (5 mm at 50 dpi).
#: A page-wide mean hides a misplaced tone mark; a tile-wise maximum does not, while
#: anti-aliasing noise stays far below it. Thai rendered without shaping scores about 32.
THRESHOLD = 16
TILE = 10

BUILTINS = [(name, lang) for name in ("certificate", "letter", "record") for lang in ("th", "en")]
UPDATE = os.environ.get("EDOC_UPDATE_REFERENCE") == "1"


def rasterise(pdf: bytes, tmp_path: Path, dpi: int = 50) -> Image.Image:
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            require("pdftoppm"),
            "-r",
            str(dpi),
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            source,
            tmp_path / "page",
        ],
        check=True,
        timeout=60,
    )
    with Image.open(tmp_path / "page.png") as page:
        return page.convert("L")


def difference(page: Image.Image, reference: Image.Image) -> int:
    """The worst tile's mean absolute difference."""
    assert page.size == reference.size, f"page is {page.size}, reference {reference.size}"
    diff = ImageChops.difference(page, reference)
    tiles = diff.resize(
        (max(1, diff.width // TILE), max(1, diff.height // TILE)), Image.Resampling.BOX
    )
    histogram = tiles.histogram()
    return max(level for level, count in enumerate(histogram) if count)


def reference_for(name: str, lang: str) -> Image.Image:
    with Image.open(REFERENCE / f"{name}-{lang}.png") as image:
        return image.convert("L")


@pytest.mark.parametrize(("name", "lang"), BUILTINS)
def test_first_page_matches_reviewed_reference(library, tmp_path, name, lang):
    page = rasterise(render_example(library, name, lang).pdf, tmp_path)
    if UPDATE:
        page.save(REFERENCE / f"{name}-{lang}.png", optimize=True)
        pytest.skip("reference image updated: review it before committing")
    assert difference(page, reference_for(name, lang)) < THRESHOLD


def _unshaped(name: str, size: float, text: str) -> tuple[ShapedStr, float]:
    """What a renderer without HarfBuzz draws: default glyphs, marks at their default height."""
    widths = get_font(name).face.charWidths
    data = [
        ShapeData(i, widths.get(ord(c), 0), 0, 0, 0, widths.get(ord(c), 0))
        for i, c in enumerate(text)
    ]
    return ShapedStr(text, shapeData=data), sum(d.x_advance for d in data) * size / 1000


def test_broken_thai_shaping_fails_the_comparison(library, tmp_path, monkeypatch):
    monkeypatch.setattr(text_module, "shape", _unshaped)
    page = rasterise(render_example(library, "certificate", "th").pdf, tmp_path)
    assert difference(page, reference_for("certificate", "th")) > THRESHOLD


def test_readme_image_of_the_thai_certificate(library, tmp_path):
    """docs/img/certificate-th.png: regenerated with the references, checked like them."""
    image = Path(__file__).parents[2] / "docs" / "img" / "certificate-th.png"
    page = rasterise(render_example(library, "certificate", "th").pdf, tmp_path, dpi=100)
    if UPDATE:
        source = tmp_path / "doc.pdf"
        subprocess.run(
            [
                require("pdftoppm"),
                "-r",
                "100",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                source,
                tmp_path / "colour",
            ],
            check=True,
            timeout=60,
        )
        image.write_bytes((tmp_path / "colour.png").read_bytes())
        pytest.skip("README image updated")
    with Image.open(image) as readme:
        assert difference(page, readme.convert("L")) < THRESHOLD
