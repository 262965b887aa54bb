"""Why a document was revoked, as citizens see it: a fixed category, never free text.

The officer's own words (``reason``) may name people or circumstances; they stay
with the agency (its API and audit trail). Everyone else - the public status page,
``GET /v1/verify/{id}``, both upload verifications - sees only the category, with
its label in Thai and English.

>>> label("superseded", "en")
'superseded by a newer document'
"""

from __future__ import annotations

from typing import Literal, get_args

from .errors import FieldError

Category = Literal["issued-in-error", "superseded", "withdrawn", "holder-request", "fraud", "other"]
CATEGORIES: tuple[str, ...] = get_args(Category)
#: what documents revoked before categories existed are shown as
UNSPECIFIED = "unspecified"

LABELS: dict[str, dict[str, str]] = {
    "issued-in-error": {"th": "ออกเอกสารโดยผิดพลาด", "en": "issued in error"},
    "superseded": {"th": "มีเอกสารฉบับใหม่แทนแล้ว", "en": "superseded by a newer document"},
    "withdrawn": {"th": "หน่วยงานเพิกถอนสิทธิ์ตามเอกสารนี้", "en": "withdrawn by the issuing agency"},
    "holder-request": {"th": "เพิกถอนตามคำขอของผู้ถือเอกสาร", "en": "revoked at the holder's request"},
    "fraud": {"th": "ได้มาโดยการทุจริตหรือข้อมูลอันเป็นเท็จ", "en": "obtained by fraud or false information"},
    "other": {"th": "เหตุผลอื่นของหน่วยงาน", "en": "another reason of the issuing agency"},
    UNSPECIFIED: {"th": "ไม่ระบุเหตุผล", "en": "no reason category given"},
}


def checked(category: str | None) -> str:
    """``category`` if it is one of :data:`CATEGORIES`, else a :class:`FieldError` naming them."""
    if category not in CATEGORIES:
        raise FieldError("category", f"{category!r} is not a revocation category; "
                                     f"choose one of {', '.join(CATEGORIES)}")
    return category


def label(category: str | None, lang: str) -> str:
    """The citizen's words for a category (Thai for ``th``, else English)."""
    words = LABELS.get(category or UNSPECIFIED, LABELS[UNSPECIFIED])
    return words["th" if lang == "th" else "en"]


def thai_label(english: str) -> str:
    """The Thai label of a category given by its English label (other text as it is)."""
    for words in LABELS.values():
        if words["en"] == english:
            return words["th"]
    return english
