"""The renderer, judged by what a reader and a receiving agency get out of the PDF."""

from __future__ import annotations

import copy
import io
import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader

from edoc.errors import DataInvalid, EmblemMissing, TextOverflow
from edoc.render import render
from edoc.templates import Template, TemplateLibrary
from edoc.thai import segment_words
from tests.edoc.conftest import AGENCY, DOC_ID, ISSUED_AT, VERIFY_URL, render_example
from tests.tools import require, run

# The shared Thai samples, each of which breaks naive typesetting in its own way.
SAMPLE_LINES = [
    "ที่ ฝั่ง ปิ่น ชื่อ มี่ ดื่ม",
    "ปั้น ฝั่ง ฟื้น ปิ่นโต",
    "น้ำ ค่ำ ป่ำ ทำ ซ้ำ",
    "ฐู ญู กตัญญู",
    "ใบรับรองการสำเร็จการศึกษา ผู้ที่ได้รับ นางสาวปิยะนุช ศรีสุข วันที่ ๒๕ พฤศจิกายน พ.ศ. ๒๕๖๙",
]
LONG_PARAGRAPH = (
    "หนังสือฉบับนี้ให้ไว้เพื่อรับรองว่าผู้มีรายชื่อข้างต้นได้ผ่านการฝึกอบรมหลักสูตร"
    "การพัฒนาบริการภาครัฐในรูปแบบดิจิทัลครบถ้วนตามเกณฑ์ที่กำหนดทุกประการ"
)

BUILTINS = [(name, lang) for name in ("certificate", "letter", "record") for lang in ("th", "en")]


def pdftotext(pdf: bytes, *args: str) -> str:
    return run(require("pdftotext"), *args, "-", "-", input=pdf).stdout.decode("utf-8")


@pytest.fixture(scope="module")
def samples_template(tmp_path_factory) -> Template:
    """A bare template that prints each line of ``lines`` as its own paragraph."""
    folder = tmp_path_factory.mktemp("templates") / "samples"
    (folder / "examples").mkdir(parents=True)
    spec = {
        "title": "Samples",
        "languages": ["th"],
        "holder_field": "name",
        "page": {
            "size": "A4",
            "orientation": "landscape",
            "margins_mm": {"left": 20, "right": 20, "top": 20, "bottom": 20},
        },
        "styles": {"body": {"size": 14}},
        "blocks": [
            {"type": "qr", "box": {"x": 250, "y": 170, "w": 25, "h": 25}, "pages": "all"},
            {"type": "paragraphs", "field": "lines", "space_after_mm": 3},
        ],
    }
    schema = {
        "type": "object",
        "required": ["name", "lines"],
        "properties": {
            "name": {"type": "string"},
            "lines": {"type": "array", "items": {"type": "string"}},
        },
    }
    (folder / "template.json").write_text(json.dumps(spec, ensure_ascii=False))
    (folder / "schema.json").write_text(json.dumps(schema))
    return TemplateLibrary.from_dirs(folder.parent).get("samples")


@pytest.fixture(scope="module")
def samples_pdf(samples_template) -> bytes:
    data = {"name": "นางสาวปิยะนุช ศรีสุข", "lines": [*SAMPLE_LINES, LONG_PARAGRAPH]}
    return render(
        samples_template,
        data,
        doc_id=DOC_ID,
        verify_url=VERIFY_URL,
        agency=AGENCY,
        issued_at=ISSUED_AT,
    ).pdf


@pytest.mark.parametrize(("name", "lang"), BUILTINS)
def test_builtin_template_renders(library, name, lang):
    doc = render_example(library, name, lang)
    text = pdftotext(doc.pdf)
    assert doc.pdf.startswith(b"%PDF-")
    assert DOC_ID in text
    holder = library.get(name).examples[lang]
    if name != "letter":
        assert holder["holder"]["name"] in text
    assert doc.page_count == (2 if name in ("letter", "record") else 1)
    assert doc.stamp_box is not None


@pytest.mark.parametrize("line", SAMPLE_LINES)
def test_thai_sample_extracts_unchanged(samples_pdf, line):
    for mode in ((), ("-raw",), ("-layout",)):
        lines = [x.strip() for x in pdftotext(samples_pdf, *mode).splitlines()]
        assert line in lines, f"pdftotext {' '.join(mode)} lost {line!r}"


def test_extracted_text_has_no_private_use_or_zero_width_characters(samples_pdf):
    text = pdftotext(samples_pdf)
    assert not re.search("[\ue000-\uf8ff\U000f0000-\U000fffff\u200b\ufffd]", text)


def test_long_thai_paragraph_wraps_at_word_boundaries(samples_pdf):
    lines = [x.strip() for x in pdftotext(samples_pdf, "-layout").splitlines() if x.strip()]
    start = next(i for i, x in enumerate(lines) if LONG_PARAGRAPH.startswith(x) and len(x) > 10)
    wrapped = []
    while "".join(wrapped) != LONG_PARAGRAPH:
        wrapped.append(lines[start + len(wrapped)])
        assert len("".join(wrapped)) <= len(LONG_PARAGRAPH)
    assert len(wrapped) >= 2
    words = segment_words(LONG_PARAGRAPH)
    boundaries = {sum(len(w) for w in words[:i]) for i in range(len(words) + 1)}
    ends = {len("".join(wrapped[: i + 1])) for i in range(len(wrapped))}
    assert ends <= boundaries, f"a line break falls inside a word: {wrapped}"


def test_sarabun_is_embedded_as_a_subset(library, tmp_path):
    pdf = render_example(library, "certificate", "th").pdf
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    rows = [x.split() for x in run(require("pdffonts"), path).stdout.decode().splitlines()[2:]]
    assert rows and all("Sarabun" in r[0] and r[-5:-2] == ["yes", "yes", "yes"] for r in rows)


def test_qr_code_decodes_to_the_verify_url(library, tmp_path):
    zbarimg = require("zbarimg")
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(render_example(library, "certificate", "th").pdf)
    run(require("pdftoppm"), "-r", "150", "-png", "-f", "1", "-l", "1", pdf, tmp_path / "page")
    decoded = run(zbarimg, "-q", "--raw", tmp_path / "page-1.png").stdout.decode().strip()
    assert decoded == VERIFY_URL


def test_input_data_is_attached_as_data_json(library):
    data = library.get("record").examples["th"]
    reader = PdfReader(io.BytesIO(render_example(library, "record", "th").pdf))
    assert json.loads(reader.attachments["data.json"][0]) == data
    spec = reader.trailer["/Root"]["/AF"][0].get_object()
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/application/json"


def test_same_input_gives_the_same_bytes(library):
    first = render_example(library, "certificate", "th").pdf
    render_example(library, "letter", "en")  # other documents in between change nothing
    assert render_example(library, "certificate", "th").pdf == first


def test_document_dates_come_from_issued_at(library):
    bangkok = timezone(timedelta(hours=7))
    doc = render_example(
        library, "certificate", "en", issued_at=datetime(2026, 11, 25, 16, 30, tzinfo=bangkok)
    )
    meta = PdfReader(io.BytesIO(doc.pdf)).metadata
    assert meta["/CreationDate"] == "D:20261125163000+07'00'"


def test_title_and_masked_holder(library):
    doc = render_example(library, "certificate", "th")
    assert doc.title == "ใบรับรองการสำเร็จการศึกษา นางสาวปิยะนุช ศรีสุข"
    assert doc.holder_masked == "นางสาวปิยะนุช ศ***"
    assert PdfReader(io.BytesIO(doc.pdf)).metadata["/Title"] == doc.title


def test_name_too_long_for_its_box_names_the_field(library):
    data = copy.deepcopy(library.get("certificate").examples["th"])
    data["holder"]["name"] = "นางสาวปิยะนุช " + "ศรีสุขสวัสดิ์วัฒนาถาวรเจริญ" * 3
    with pytest.raises(TextOverflow) as caught:
        render_example(library, "certificate", "th", data=data)
    assert caught.value.field == "holder.name"
    assert "too long" in caught.value.message


def test_long_name_shrinks_before_it_overflows(library):
    data = copy.deepcopy(library.get("certificate").examples["en"])
    data["holder"]["name"] = "Ms Jane Alexandra Catherine Montgomery-Doe"
    doc = render_example(library, "certificate", "en", data=data)
    assert "Ms Jane Alexandra Catherine Montgomery-Doe" in pdftotext(doc.pdf)


@pytest.mark.parametrize(("name", "lang"), BUILTINS)
def test_long_verify_url_and_document_id_still_fit(library, name, lang):
    doc_id = "k" * 26
    url = f"https://documents.registry.department-of-example-affairs.go.th/verify/{doc_id}?v=1"
    doc = render_example(library, name, lang, doc_id=doc_id, verify_url=url)
    assert doc_id in pdftotext(doc.pdf)


def test_missing_emblem_file_is_a_clear_error(library, tmp_path):
    agency = replace(AGENCY, emblem=tmp_path / "garuda.png")
    with pytest.raises(EmblemMissing) as caught:
        render_example(library, "letter", "th", agency=agency)
    assert (
        "garuda.png" in caught.value.diagnostics()
        and "does not exist" in caught.value.diagnostics()
    )


def test_agency_without_emblem_renders(library):
    doc = render_example(library, "certificate", "th", agency=replace(AGENCY, emblem=None))
    assert doc.page_count == 1


def test_invalid_data_is_refused_before_rendering(library):
    data = copy.deepcopy(library.get("record").examples["th"])
    data["holder"]["national_id"] = "1100000000009"
    with pytest.raises(DataInvalid) as caught:
        render_example(library, "record", "th", data=data)
    assert [e.field for e in caught.value.errors] == ["holder.national_id"]


def test_long_letter_flows_onto_a_second_page_with_the_stamp_after_the_body(library):
    doc = render_example(library, "letter", "th")
    pages = pdftotext(doc.pdf, "-layout").split("\f")
    assert doc.page_count == 2
    assert "- ๒ -" in pages[1] and "ขอแสดงความนับถือ" in pages[1]
    assert all(DOC_ID in page for page in pages[:2])
    page, x1, y1, x2, y2 = doc.stamp_box
    assert page == 1 and x2 - x1 > 100 and y2 - y1 > 50


def test_record_table_repeats_its_header_and_prints_totals(library):
    doc = render_example(library, "record", "th")
    pages = pdftotext(doc.pdf, "-layout").split("\f")
    assert all("หน่วยกิต" in page for page in pages[:2])
    total = sum(item["credits"] for item in library.get("record").examples["th"]["items"])
    assert re.search(rf"รวมหน่วยกิต \(44 รายการ\)\s+{total}\b", pages[1])
    assert "3.42" in pages[1]


def test_unsupported_language_is_a_data_error(library):
    template = library.get("certificate")
    with pytest.raises(DataInvalid) as caught:
        render(
            template,
            template.examples["th"],
            doc_id=DOC_ID,
            verify_url=VERIFY_URL,
            agency=AGENCY,
            lang="fr",
            issued_at=ISSUED_AT,
        )
    assert caught.value.errors[0].field == "lang"


def test_renders_in_parallel_threads_match_sequential_ones(library):
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(name, lang) for name, lang in BUILTINS] * 3
    expected = {job: render_example(library, *job).pdf for job in BUILTINS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: (job, render_example(library, *job).pdf), jobs))
    assert all(pdf == expected[job] for job, pdf in results)


def test_a_render_with_its_caches_cleared_gives_the_same_bytes(library):
    from edoc.render import _fonts, clear_caches

    warm = render_example(library, "certificate", "th").pdf
    clear_caches()
    assert _fonts.shape.cache_info().currsize == 0
    assert render_example(library, "certificate", "th").pdf == warm  # the work redone, nothing else


def test_warm_renders_in_any_order_give_the_bytes_of_cold_ones(library):
    """What renders remember (shaped words, word breaks, a line's text operators, font
    subsets) never changes a document: every template and language, rendered in turn
    with warm caches, comes out as it does rendered cold."""
    from edoc.render import clear_caches

    jobs = [(name, lang, f"DOC-{i}") for i in range(3) for name, lang in BUILTINS]
    warm = {job: render_example(library, job[0], job[1], doc_id=job[2]).pdf for job in jobs}
    for job in reversed(jobs):
        clear_caches()
        assert render_example(library, job[0], job[1], doc_id=job[2]).pdf == warm[job], job


def test_reportlab_still_writes_tounicode_maps_for_other_fonts(library):
    from reportlab.pdfbase import ttfonts

    render_example(library, "certificate", "th")
    assert "beginbfchar" in ttfonts.makeToUnicodeCMap("AAAAAA+Other", [0, 65])
