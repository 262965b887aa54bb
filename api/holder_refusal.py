"""Why a holder's download link (``?token=``) no longer opens the document, in Thai and English.

A holder follows the link in a browser, so a browser (``Accept: text/html``) gets
a small page in both languages; an API client gets the same words as
``application/problem+json`` (410 Gone: the link will not work again).
"""

from __future__ import annotations

from html import escape
from typing import Literal

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from edoc.errors import EdocError

from .errors import problem

Why = Literal["revoked", "expired"]

WORDS: dict[Why, dict[str, str]] = {
    "revoked": {
        "th": "หน่วยงานผู้ออกได้เพิกถอนเอกสารนี้แล้ว จึงดาวน์โหลดด้วยลิงก์นี้ไม่ได้อีก "
              "ตรวจสอบสถานะเอกสารได้ที่หน้าตรวจสอบ หรือติดต่อหน่วยงานผู้ออก",
        "en": "The issuing agency has revoked this document, so this link no longer downloads it. "
              "You can check its status on the verification page, or contact the issuing agency.",
    },
    "expired": {
        "th": "ลิงก์ดาวน์โหลดนี้หมดอายุแล้ว โปรดขอลิงก์ใหม่จากหน่วยงานผู้ออกเอกสาร",
        "en": "This download link has expired. Please ask the issuing agency for a new link.",
    },
}
_KINDS: dict[Why, str] = {"revoked": "holder-link-revoked", "expired": "holder-link-expired"}


class HolderLinkRefused(EdocError):
    """A holder link that was genuine but no longer opens the document."""

    http_status = 410

    def __init__(self, why: Why):
        super().__init__(f"{WORDS[why]['th']} / {WORDS[why]['en']}")
        self.why = why
        self.kind = _KINDS[why]


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept.split("text/html")[0]


def holder_refusal(request: Request, refusal: HolderLinkRefused) -> Response:
    """The 410 answer for ``refusal``: an HTML page for a browser, a problem otherwise."""
    words = WORDS[refusal.why]
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if not _wants_html(request):
        return problem(410, refusal.kind, refusal.diagnostics(), headers=headers,
                       reason=refusal.why, detail_th=words["th"], detail_en=words["en"])
    verify = escape(request.app.state.edoc.issuer.verify_url(request.path_params.get("doc_id", "")))
    link = f'<p><a href="{verify}">ตรวจสอบสถานะเอกสาร / Check the document\'s status</a></p>'
    page = (
        '<!doctype html><html lang="th"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>ดาวน์โหลดไม่ได้ / Download not available</title></head><body>"
        f'<main><h1>ดาวน์โหลดไม่ได้</h1><p>{escape(words["th"])}</p>'
        f'<h2 lang="en">Download not available</h2><p lang="en">{escape(words["en"])}</p>{link}</main>'
        "</body></html>"
    )
    return HTMLResponse(page, status_code=410, headers={
        **headers, "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"})

