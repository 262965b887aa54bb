"""``GET /``: a small landing page, Thai first, saying what this service is and where to go.

It uses the verification pages' layout, CSS and strings (``base.html``), so it
needs no file of its own beyond its template and words.
"""

from __future__ import annotations

import gzip

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ._text import STRINGS, pick_lang
from .routes import _GZIP_MIN, _PAGE_HEADERS, _accepts_gzip, _asset_url, _directory, _env

router = APIRouter(include_in_schema=False)

WORDS: dict[str, dict[str, str]] = {
    "th": {
        "title": "บริการเอกสารราชการอิเล็กทรอนิกส์",
        "intro": "หน่วยงานออกเอกสารราชการเป็นไฟล์ PDF ที่ประทับตราอิเล็กทรอนิกส์และรับรองเวลา "
                 "ผ่านบริการนี้ ทุกคนตรวจสอบได้ว่าเอกสารเป็นฉบับจริงและไม่ถูกแก้ไข",
        "verify_h": "ตรวจสอบเอกสาร",
        "verify_text": "สแกนคิวอาร์โค้ดบนเอกสาร หรืออัปโหลดไฟล์ PDF ที่ได้รับเพื่อตรวจสอบ",
        "verify_link": "ไปที่หน้าตรวจสอบเอกสาร",
        "api_h": "สำหรับระบบของหน่วยงาน",
        "api_text": "ระบบของหน่วยงานออก ดาวน์โหลด และเพิกถอนเอกสารผ่าน API (ต้องใช้กุญแจ API)",
        "api_link": "คู่มือการใช้ API (OpenAPI)",
    },
    "en": {
        "title": "Official electronic documents",
        "intro": "Agencies issue official documents through this service as PDF files with an "
                 "electronic seal and a trusted timestamp. Anyone can check that a document is "
                 "genuine and unchanged.",
        "verify_h": "Check a document",
        "verify_text": "Scan the QR code on the document, or upload the PDF file you were given.",
        "verify_link": "Go to the verification page",
        "api_h": "For the agency's systems",
        "api_text": "Agency systems issue, download and revoke documents through the API "
                    "(an API key is needed).",
        "api_link": "API documentation (OpenAPI)",
    },
}


@router.get("/", response_class=HTMLResponse)
async def landing(request: Request, lang: str | None = None) -> Response:
    """What this service is, with links to verification and the API documentation."""
    lang = pick_lang(lang)
    other = "en" if lang == "th" else "th"
    root = request.scope.get("root_path", "")
    home = request.app.state.edoc.home
    w = WORDS[lang]
    html = _env.get_template("landing.html").render(
        t=STRINGS[lang],
        w=w,
        lang=lang,
        other_lang=other,
        title=w["title"],
        switch_url=f"{root}/?lang={other}",
        verify_url=f"{root}/verify?lang={lang}",
        docs_url=f"{root}/docs",
        agency_name=_directory(home).agency_name(None, lang),
        asset=lambda name: _asset_url(request, name),
    )
    body = html.encode()
    headers = {**_PAGE_HEADERS, "Content-Language": lang}
    if len(body) >= _GZIP_MIN and _accepts_gzip(request):
        body, headers["Content-Encoding"] = gzip.compress(body, 6), "gzip"
    return Response(body, 200, headers=headers, media_type="text/html; charset=utf-8")
