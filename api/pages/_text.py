"""The words of the verification pages, in Thai (the default) and English.

The verifier writes its reasons as English sentences for auditors and the JSON
API; :func:`reason` gives a citizen the Thai wording of the sentences it knows
and keeps the English (marked ``lang="en"`` in the page) for any it does not.

>>> reason("This file is not a PDF document.", "th")
Reason(text='ไฟล์นี้ไม่ใช่เอกสาร PDF', lang='th')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from edoc.revocation_reasons import thai_label
from edoc.thai import thai_date

LANGS = ("th", "en")
DEFAULT_LANG = "th"

#: Thailand keeps one offset all year (no daylight saving), so a fixed zone is exact
#: and needs no time zone database on the server.
THAI_TIME = timezone(timedelta(hours=7), "ICT")


def pick_lang(value: str | None) -> str:
    """The page language for a ``?lang=`` value: Thai unless English is asked for."""
    return value if value in LANGS else DEFAULT_LANG


STRINGS: dict[str, dict[str, str]] = {
    "th": {
        "site_name": "ระบบตรวจสอบเอกสารราชการ",
        "skip": "ข้ามไปยังเนื้อหา",
        "switch": "English",
        "check_title": "ตรวจสอบเอกสาร",
        "check_intro": "ตรวจว่าไฟล์ PDF ที่คุณได้รับเป็นเอกสารฉบับจริงจากหน่วยงานราชการ และไม่ถูกแก้ไข",
        "doc_id": "เลขที่เอกสาร",
        "agency": "หน่วยงานที่ออก",
        "doc_type": "ประเภทเอกสาร",
        "doc_title": "ชื่อเอกสาร",
        "printed": "ข้อความบนเอกสาร",
        "issued_at": "วันที่ออก",
        "holder": "ผู้ถือเอกสาร",
        "revoked_at": "วันที่เพิกถอน",
        "revocation_reason": "เหตุผลที่เพิกถอน",
        "status.valid": "เอกสารนี้ถูกต้อง",
        "status.valid.note": "หน่วยงานออกเอกสารนี้จริงและยังไม่ได้เพิกถอน "
        "โปรดเทียบข้อมูลด้านล่างกับเอกสารที่คุณได้รับ",
        "status.revoked": "เอกสารนี้ถูกเพิกถอนแล้ว",
        "status.revoked.note": "หน่วยงานผู้ออกยกเลิกเอกสารนี้แล้ว จึงใช้อ้างอิงไม่ได้",
        "status.unknown": "ไม่พบเอกสารนี้ในทะเบียน",
        "status.unknown.note": "ตรวจดูว่าที่อยู่เว็บถูกต้อง หรือสอบถามหน่วยงานที่ระบุบนเอกสาร "
        "อย่าเชื่อถือเอกสารที่ไม่มีในทะเบียน",
        "upload.doc.h": "ตรวจไฟล์ที่คุณได้รับ",
        "upload.doc.intro": "อัปโหลดไฟล์ PDF ของเอกสารนี้ เพื่อตรวจว่าเป็นฉบับจริงและไม่ถูกแก้ไข",
        "upload.h": "ตรวจไฟล์ PDF",
        "file_label": "เลือกไฟล์ PDF",
        "drop_hint": "หรือลากไฟล์มาวางในกรอบนี้",
        "size_hint": "ไฟล์ PDF ขนาดไม่เกิน {mb} MB",
        "submit": "ตรวจสอบไฟล์",
        "busy": "กำลังตรวจสอบ…",
        "privacy": "ไฟล์ของคุณใช้ตรวจสอบเท่านั้นและถูกลบทิ้งทันทีหลังตรวจ ระบบไม่เก็บไฟล์ไว้",
        "result.h": "ผลการตรวจไฟล์",
        "result.valid": "ไฟล์นี้ถูกต้อง",
        "result.valid.note": "เป็นไฟล์ฉบับจริงที่หน่วยงานออก และไม่ถูกแก้ไข",
        "result.invalid": "ไฟล์นี้ไม่ใช่ฉบับจริงหรือถูกแก้ไข",
        "result.invalid.note": "อย่าใช้ไฟล์นี้อ้างอิง โปรดขอไฟล์ฉบับจริงจากหน่วยงานผู้ออก",
        "result.revoked": "เอกสารนี้ถูกเพิกถอนแล้ว",
        "result.revoked.note": "ไฟล์นี้เป็นฉบับจริง แต่หน่วยงานผู้ออกเพิกถอนเอกสารแล้ว จึงใช้อ้างอิงไม่ได้",
        "result.mismatch": "ไฟล์นี้ไม่ใช่เอกสารฉบับนี้",
        "result.mismatch.note": "ไฟล์ที่อัปโหลดไม่ตรงกับไฟล์ของเอกสารเลขที่ {doc_id} "
        "อาจเป็นเอกสารอื่นหรือฉบับที่ถูกแก้ไข",
        "result.unregistered": "ตราประทับถูกต้อง แต่ไม่พบไฟล์นี้ในทะเบียน",
        "result.unregistered.note": "ไฟล์นี้มีตราประทับอิเล็กทรอนิกส์ที่ถูกต้องและไม่ถูกแก้ไข "
        "แต่ไม่มีในทะเบียนเอกสาร จึงตรวจไม่ได้ว่าถูกเพิกถอนหรือไม่ โปรดสอบถามหน่วยงานผู้ออก",
        "result.indeterminate": "ยืนยันไฟล์นี้ไม่ได้",
        "result.indeterminate.note": "ตรวจยืนยันตราประทับอิเล็กทรอนิกส์ได้ไม่ครบ "
        "ดูเหตุผลด้านล่าง หรือสอบถามหน่วยงานผู้ออก",
        "result.not_pdf": "ไฟล์นี้ไม่ใช่ไฟล์ PDF",
        "result.not_pdf.note": "ระบบตรวจได้เฉพาะไฟล์ PDF ที่หน่วยงานส่งให้ "
        "โปรดเลือกไฟล์ PDF ของเอกสาร ไม่ใช่รูปถ่ายหรือไฟล์อื่น",
        "result.damaged": "ไฟล์นี้เสียหาย เปิดอ่านไม่ได้",
        "result.damaged.note": "ไฟล์อาจดาวน์โหลดไม่ครบหรือถูกตัดทอน โปรดขอไฟล์ใหม่จากหน่วยงานผู้ออก",
        "result.unsigned": "ไฟล์นี้ไม่มีตราประทับอิเล็กทรอนิกส์",
        "result.unsigned.note": "ไม่มีหลักฐานว่าหน่วยงานใดออกไฟล์นี้ "
        "อาจเป็นสำเนาที่พิมพ์หรือบันทึกใหม่ โปรดขอไฟล์ฉบับจริงจากหน่วยงานผู้ออก",
        "result.password": "ไฟล์นี้มีรหัสผ่าน",
        "result.password.note": "โปรดใส่รหัสผ่านของไฟล์ในช่องด้านล่าง แล้วตรวจอีกครั้ง",
        "password_label": "รหัสผ่านของไฟล์ (ถ้ามี)",
        "password_hint": "ใช้เปิดไฟล์เพื่อตรวจเท่านั้น ระบบไม่เก็บรหัสผ่าน",
        "file": "ไฟล์",
        "reasons": "เหตุผล",
        "seal_details": "รายละเอียดตราประทับอิเล็กทรอนิกส์",
        "sealed_by": "ประทับตราโดย",
        "timestamp": "เวลาที่รับรอง",
        "tsa": "ผู้รับรองเวลา",
        "see_status": "ดูสถานะของเอกสารนี้",
        "too_large": "ไฟล์ใหญ่เกินไป ขนาดสูงสุดคือ {mb} MB",
        "no_file": "โปรดเลือกไฟล์ PDF ก่อนกดตรวจสอบ",
        "verify_busy": "ขณะนี้มีผู้ตรวจสอบเอกสารจำนวนมาก โปรดลองใหม่อีกครั้งใน {seconds} วินาที",
        "rate_limited": "มีการตรวจสอบจากเครือข่ายของคุณถี่เกินไป โปรดลองใหม่ในอีก {seconds} วินาที",
        "footer": "ตรวจสอบด้วยตราประทับอิเล็กทรอนิกส์ (PAdES) และการรับรองเวลา "
        "หน้านี้ไม่ใช้คุกกี้",
        "at_time": "{date} เวลา {time} น.",
    },
    "en": {
        "site_name": "Official document verification",
        "skip": "Skip to content",
        "switch": "ภาษาไทย",
        "check_title": "Check a document",
        "check_intro": "Check that a PDF file you were given is a genuine document from a "
        "government agency, and that it has not been altered.",
        "doc_id": "Document number",
        "agency": "Issued by",
        "doc_type": "Document type",
        "doc_title": "Document title",
        "printed": "Printed on the document",
        "issued_at": "Issue date",
        "holder": "Holder",
        "revoked_at": "Revoked on",
        "revocation_reason": "Reason for revocation",
        "status.valid": "This document is valid",
        "status.valid.note": "The agency issued this document and has not revoked it. "
        "Compare the details below with the document you were given.",
        "status.revoked": "This document has been revoked",
        "status.revoked.note": "The issuing agency has cancelled this document; "
        "it can no longer be relied on.",
        "status.unknown": "This document is not in the register",
        "status.unknown.note": "Check that the web address is right, or ask the agency named "
        "on the document. Do not rely on a document that is not in the register.",
        "upload.doc.h": "Check the file you were given",
        "upload.doc.intro": "Upload the PDF of this document to check that it is the "
        "genuine, unaltered file.",
        "upload.h": "Check a PDF file",
        "file_label": "Choose a PDF file",
        "drop_hint": "or drag the file into this box",
        "size_hint": "PDF file, up to {mb} MB",
        "submit": "Check file",
        "busy": "Checking…",
        "privacy": "Your file is only checked and is discarded right after; "
        "it is never stored.",
        "result.h": "File check result",
        "result.valid": "This file is valid",
        "result.valid.note": "It is the genuine file the agency issued, and it has not "
        "been altered.",
        "result.invalid": "This file is not genuine or has been altered",
        "result.invalid.note": "Do not rely on this file; ask the issuing agency for the "
        "genuine one.",
        "result.revoked": "This document has been revoked",
        "result.revoked.note": "The file is genuine, but the issuing agency has revoked "
        "the document, so it can no longer be relied on.",
        "result.mismatch": "This file is not this document",
        "result.mismatch.note": "The uploaded file does not match the file of document "
        "{doc_id}. It may be another document or an altered copy.",
        "result.unregistered": "Sealed correctly, but not in the register",
        "result.unregistered.note": "The file carries a valid electronic seal and has not "
        "been altered, but it is not in the register, so whether it was revoked cannot be "
        "checked. Ask the issuing agency.",
        "result.indeterminate": "This file could not be confirmed",
        "result.indeterminate.note": "Its electronic seal could not be fully confirmed; "
        "see the reasons below or ask the issuing agency.",
        "result.not_pdf": "This file is not a PDF",
        "result.not_pdf.note": "Only the PDF files agencies send can be checked; choose the "
        "document's PDF, not a photo or another kind of file.",
        "result.damaged": "This file is damaged and cannot be read",
        "result.damaged.note": "It may be an incomplete download or cut short; ask the issuing "
        "agency for the file again.",
        "result.unsigned": "This file carries no electronic seal",
        "result.unsigned.note": "Nothing shows which agency issued it; it may be a re-printed or "
        "re-saved copy. Ask the issuing agency for the genuine file.",
        "result.password": "This file is password-protected",
        "result.password.note": "Enter the file's password in the box below and check it again.",
        "password_label": "File password (if it has one)",
        "password_hint": "Used only to open the file for checking; it is never stored.",
        "file": "File",
        "reasons": "Why",
        "seal_details": "Electronic seal details",
        "sealed_by": "Sealed by",
        "timestamp": "Timestamp",
        "tsa": "Timestamp authority",
        "see_status": "View this document's status",
        "too_large": "The file is too large; the limit is {mb} MB.",
        "no_file": "Please choose a PDF file first.",
        "verify_busy": "Many files are being checked right now; please try again in {seconds} seconds.",
        "rate_limited": "Too many checks from your network; please try again in {seconds} "
        "seconds.",
        "footer": "Checked with electronic seals (PAdES) and trusted timestamps. "
        "This page uses no cookies.",
        "at_time": "{date}, {time} (Thailand time)",
    },
}


def when(moment: datetime | None, lang: str, *, with_time: bool = False) -> str:
    """A date (and time) in Thailand time, as Thai official documents write it."""
    if moment is None:
        return ""
    if moment.tzinfo is None:  # the registry stores UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(THAI_TIME)
    day = thai_date(local.date(), lang=lang)
    if not with_time:
        return day
    return STRINGS[lang]["at_time"].format(date=day, time=f"{local:%H:%M}")


@dataclass(frozen=True)
class Reason:
    """One reason for a verdict, in the page's language when a translation is known."""

    text: str
    lang: str


_MODIFICATIONS_TH = {
    "annotations were added": "มีการเพิ่มหมายเหตุประกอบ",
    "form fields were filled in": "มีการกรอกข้อมูลในแบบฟอร์ม",
    "pages or content were modified": "มีการแก้ไขหน้าหรือเนื้อหา",
    "the file was modified": "ไฟล์ถูกแก้ไข",
    # signing.revisions.WORDS
    "a signature was added": "มีการลงลายมือชื่อหรือประทับตราเพิ่ม",
    "a document timestamp was added": "มีการรับรองเวลาของเอกสารเพิ่ม",
    "validation data (certificates, revocation information) was added":
        "มีการเพิ่มข้อมูลสำหรับตรวจสอบ (ใบรับรองและสถานะการเพิกถอน)",
    "document information was updated": "มีการปรับปรุงข้อมูลกำกับเอกสาร",
    "annotations (comments, marks) were added or changed":
        "มีการเพิ่มหรือแก้ไขหมายเหตุประกอบ (ความเห็น เครื่องหมาย)",
}


def _changes_th(words: str) -> str:
    """A list of change words ("a; b" or "a, b") in Thai, each as it is known."""
    known = sorted(_MODIFICATIONS_TH, key=len, reverse=True)
    parts, rest = [], words.strip()
    while rest:
        key = next((k for k in known if rest.startswith(k)), None)
        if key is None:
            parts.append(rest)
            break
        parts.append(_MODIFICATIONS_TH[key])
        rest = rest[len(key):].lstrip(";, ")
    return " ".join(parts)


_SEALED = (
    r"Sealed by (?P<signer>.*?)(?: at (?P<at>\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC)?; "
    r"the document has not been changed since\."
)


def _sealed_at(m: re.Match[str], lang: str) -> str:
    if not m["at"]:
        return ""
    moment = datetime.strptime(m["at"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    return when(moment, lang, with_time=True)


def _sealed_th(m: re.Match[str]) -> str:
    at = _sealed_at(m, "th")
    at = f" เมื่อ {at}" if at else ""
    return f"ประทับตราโดย {m['signer']}{at} และเอกสารไม่ถูกแก้ไขหลังจากนั้น"


def _sealed_en(m: re.Match[str]) -> str:
    # The same sentence with the time in Thailand time, like every other date on the page.
    at = _sealed_at(m, "en")
    at = f" on {at}" if at else ""
    return f"Sealed by {m['signer']}{at}; the document has not been changed since."


def _revoked_th(m: re.Match[str]) -> str:
    why = f" เหตุผล: {thai_label(m['why'])}" if m["why"] else ""
    return f"หน่วยงานผู้ออกเพิกถอนเอกสารนี้แล้ว{why}"


def _say(template: str) -> Callable[[re.Match[str]], str]:
    return lambda m: template.format(**m.groupdict())


Wording = tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]


def _table(*rows: tuple[str, Callable[[re.Match[str]], str]]) -> Wording:
    return tuple((re.compile(pattern + r"\Z", re.S), make) for pattern, make in rows)

# signing.ltv's revocation sentences start alike: who was revoked, when, and why
_REVOKED = (
    r"(?P<whose>The seal certificate|A certificate in the seal's chain) was revoked on "
    r"(?P<on>\S+?)(?: because (?P<why>[^,;]*))?"
)
_REVOCATION_WHY_TH = {
    "its key was compromised": "กุญแจรั่วไหล",
    "the CA's key was compromised": "กุญแจของผู้ออกใบรับรองรั่วไหล",
    "the agency's details changed": "ข้อมูลของหน่วยงานเปลี่ยนแปลง",
    "it was replaced": "มีใบรับรองใหม่มาแทน",
    "the agency stopped using it": "หน่วยงานเลิกใช้งาน",
    "its privileges were withdrawn": "ถูกถอนสิทธิ์",
}


def _revoked_cert_th(m: re.Match[str]) -> str:
    whose = "ใบรับรองของตราประทับ" if m["whose"].startswith("The seal") else "ใบรับรองในสายการรับรองของตราประทับ"
    why = f" เนื่องจาก{_REVOCATION_WHY_TH.get(m['why'], m['why'])}" if m["why"] else ""
    return f"{whose}ถูกเพิกถอนเมื่อ {m['on']}{why}"


_BUDGETS_TH = {
    "objects": "ออบเจกต์",
    "objects in one object stream": "ออบเจกต์ในสตรีมเดียว",
    "form fields": "ช่องฟอร์ม",
    "signatures": "ลายมือชื่อ",
    "revisions": "รุ่นการแก้ไข",
    "levels of nesting": "ชั้นการซ้อนกัน",
    "bytes once decompressed": "ข้อมูลเมื่อขยายแล้ว",
    "seconds of computing": "เวลาประมวลผล",
}


# The verifier's sentences (signing.validate, signing.report) in each page language.
_WORDING: dict[str, Wording] = {
    "th": _table(
        (_SEALED, _sealed_th),
        (r"This file is not a PDF document\.", _say("ไฟล์นี้ไม่ใช่เอกสาร PDF")),
        (r"The file is damaged or truncated and cannot be read as a PDF\.",
         _say("ไฟล์เสียหายหรือไม่ครบ จึงเปิดอ่านเป็น PDF ไม่ได้")),
        (r"The document carries no electronic seal or signature\.",
         _say("เอกสารนี้ไม่มีตราประทับหรือลายมือชื่ออิเล็กทรอนิกส์")),
        (r"The document carries only timestamps, no seal\.",
         _say("เอกสารนี้มีเพียงการรับรองเวลา ไม่มีตราประทับอิเล็กทรอนิกส์")),
        (r"The seal is damaged and cannot be checked \(.*\)\.",
         _say("ตราประทับอิเล็กทรอนิกส์เสียหาย จึงตรวจสอบไม่ได้")),
        (r"The document was changed after it was sealed: the seal no longer matches\.",
         _say("เอกสารถูกแก้ไขหลังประทับตรา ตราประทับอิเล็กทรอนิกส์จึงไม่ตรงกับเนื้อหา")),
        (r"The seal's cryptographic signature is not valid\.",
         _say("ลายมือชื่อดิจิทัลของตราประทับไม่ถูกต้อง")),
        (r"The certificate of (?P<signer>.*) has been revoked\.",
         _say("ใบรับรองของ {signer} ถูกเพิกถอนแล้ว")),
        (r"The seal was made by (?P<signer>.*), who is not a trusted issuer\.",
         _say("ตราประทับนี้ทำโดย {signer} ซึ่งไม่ใช่ผู้ออกเอกสารที่ระบบเชื่อถือ")),
        (r"The timestamp on the seal is not valid\.",
         _say("การรับรองเวลาบนตราประทับไม่ถูกต้อง")),
        (r"The timestamp on the seal comes from an untrusted authority\.",
         _say("การรับรองเวลามาจากผู้ให้บริการที่ระบบไม่เชื่อถือ")),
        (r"The seal does not cover the whole document\.",
         _say("ตราประทับไม่ครอบคลุมเอกสารทั้งฉบับ")),
        (r"Content was added or changed after the document was sealed \((?P<what>.*)\)\.",
         lambda m: f"มีการเพิ่มหรือแก้ไขเนื้อหาหลังประทับตรา ({_changes_th(m['what'])})"),
        (r"Revision (?P<n>\d+), after the seal: (?P<what>.*) \(allowed\)\.",
         lambda m: f"ฉบับปรับปรุงที่ {m['n']} หลังประทับตรา: {_changes_th(m['what'])} "
         "(เป็นการเปลี่ยนแปลงที่ตราประทับอนุญาต ไม่กระทบเนื้อหา)"),
        (r"This file says it is document (?P<id>.*), but it is not the file on record for it\.",
         _say("ไฟล์นี้ระบุว่าเป็นเอกสารเลขที่ {id} แต่ไม่ใช่ไฟล์ที่บันทึกไว้ในทะเบียนสำหรับเอกสารนั้น")),
        (r"The file is encrypted with a password; give the password to check it\.",
         _say("ไฟล์นี้ถูกเข้ารหัสด้วยรหัสผ่าน โปรดใส่รหัสผ่านเพื่อตรวจสอบ")),
        (r"The file is encrypted and the password given does not open it\.",
         _say("ไฟล์นี้ถูกเข้ารหัส และรหัสผ่านที่ใส่เปิดไฟล์ไม่ได้")),
        (r"The signature in field (?P<f>.*) uses a format this verifier does not support "
         r"\((?P<x>.*)\), so it could not be checked\.",
         _say("ลายมือชื่อในช่อง {f} ใช้รูปแบบที่ระบบนี้ไม่รองรับ ({x}) จึงตรวจสอบไม่ได้")),
        (r"The signature in field (?P<f>.*) is of a kind this verifier does not support, "
         r"so it could not be checked\.",
         _say("ลายมือชื่อในช่อง {f} เป็นชนิดที่ระบบนี้ไม่รองรับ จึงตรวจสอบไม่ได้")),
        (r"The signature in field (?P<f>.*) uses an algorithm this verifier does not support, "
         r"so it could not be checked\.",
         _say("ลายมือชื่อในช่อง {f} ใช้อัลกอริทึมที่ระบบนี้ไม่รองรับ จึงตรวจสอบไม่ได้")),
        (r"The signature in field (?P<f>.*) holds several signers in one signature, which PDF "
         r"does not allow and this verifier cannot check\.",
         _say("ลายมือชื่อในช่อง {f} มีผู้ลงนามหลายรายในลายมือชื่อเดียว ซึ่ง PDF ไม่อนุญาต "
              "และระบบนี้ตรวจสอบไม่ได้")),
        (r"The signature in field (?P<f>.*) does not include the signer's certificate, so who "
         r"made it cannot be checked\.",
         _say("ลายมือชื่อในช่อง {f} ไม่มีใบรับรองของผู้ลงนาม จึงตรวจไม่ได้ว่าใครเป็นผู้ลงนาม")),
        (r"The signature in field (?P<f>.*) relies on an algorithm that is not accepted as secure\.",
         _say("ลายมือชื่อในช่อง {f} ใช้อัลกอริทึมที่ไม่ถือว่าปลอดภัย")),
        (r"The document was changed after the signature in field (?P<f>.*) was made\.",
         _say("เอกสารถูกแก้ไขหลังจากลงลายมือชื่อในช่อง {f}")),
        (r"The cryptographic signature in field (?P<f>.*) is not valid\.",
         _say("ลายมือชื่อดิจิทัลในช่อง {f} ไม่ถูกต้อง")),
        (r"The signature in field (?P<f>.*) could not be validated(?: here)?\.",
         _say("ตรวจยืนยันลายมือชื่อในช่อง {f} ไม่ได้")),
        (r"The signature in field (?P<f>.*) does not say properly which bytes it covers, so it "
         r"cannot be checked\.",
         _say("ลายมือชื่อในช่อง {f} ระบุส่วนของไฟล์ที่ลงนามไม่ถูกต้อง จึงตรวจสอบไม่ได้")),
        (r"The signature in field (?P<f>.*) is damaged \(it is not a correctly encoded "
         r"signature\) and cannot be checked\.",
         _say("ลายมือชื่อในช่อง {f} เสียหาย (ไม่ได้เข้ารหัสตามรูปแบบลายมือชื่อ) จึงตรวจสอบไม่ได้")),
        (_REVOKED + r", and this document was sealed after that \((?P<after>[^)]*)\)\.",
         lambda m: f"{_revoked_cert_th(m)} และเอกสารนี้ประทับตราหลังจากนั้น ({m['after']})"),
        (_REVOKED + r"; nothing proves this document was sealed before then "
         r"\(its timestamp is dated (?P<ts>[^)]*)\)\.",
         lambda m: f"{_revoked_cert_th(m)} และไม่มีหลักฐานว่าเอกสารนี้ประทับตราก่อนหน้านั้น "
         f"(การรับรองเวลาลงวันที่ {m['ts']})"),
        (_REVOKED + r", but a timestamp proves this document was sealed on (?P<at>\S+), before then\.",
         lambda m: f"{_revoked_cert_th(m)} แต่การรับรองเวลาพิสูจน์ว่าเอกสารนี้ประทับตราเมื่อ "
         f"{m['at']} ก่อนการเพิกถอน"),
        (r"The certificate of (?P<name>.*) expired on (?P<end>\S+), and the document carries no "
         r"valid archive timestamp proving it was sealed before then\.",
         _say("ใบรับรองของ {name} หมดอายุเมื่อ {end} และเอกสารไม่มีการรับรองเวลาเพื่อการเก็บรักษา"
              "ระยะยาวที่พิสูจน์ว่าประทับตราก่อนหน้านั้น")),
        (r"The certificate of (?P<name>.*) expired on (?P<end>\S+), and its archive timestamp of "
         r"(?P<at>\S+) came too late to prove it was sealed before then\.",
         _say("ใบรับรองของ {name} หมดอายุเมื่อ {end} และการรับรองเวลาเพื่อการเก็บรักษาระยะยาว"
              "ลงวันที่ {at} ช้าเกินกว่าจะพิสูจน์ว่าประทับตราก่อนหน้านั้น")),
        (r"The certificate of (?P<name>.*) expired on (?P<end>\S+); archive timestamps prove the "
         r"document was sealed on (?P<at>\S+), while it was valid\.",
         _say("ใบรับรองของ {name} หมดอายุเมื่อ {end} แต่การรับรองเวลาเพื่อการเก็บรักษาระยะยาว"
              "พิสูจน์ว่าเอกสารประทับตราเมื่อ {at} ขณะที่ใบรับรองยังมีผล")),
        (r"No up-to-date revocation information for the seal's certificates is available here, "
         r"so it cannot be confirmed that they were not revoked\.",
         _say("ไม่มีข้อมูลสถานะการเพิกถอนใบรับรองที่เป็นปัจจุบัน จึงยืนยันไม่ได้ว่าใบรับรองยังไม่ถูกเพิกถอน")),
        (r"The seal relies on an algorithm that is no longer considered secure, and no archive "
         r"timestamp protects it from before then\.",
         _say("ตราประทับใช้อัลกอริทึมที่ไม่ถือว่าปลอดภัยแล้ว และไม่มีการรับรองเวลาเพื่อการเก็บรักษา"
              "ระยะยาวคุ้มครองไว้ก่อนหน้านั้น")),
        (r"The seal certificate was not yet valid when the document was sealed\.",
         _say("ใบรับรองของตราประทับยังไม่มีผลในขณะที่ประทับตรา")),
        (r"Nothing proves when this document was sealed\.",
         _say("ไม่มีหลักฐานว่าเอกสารนี้ประทับตราเมื่อใด")),
        (r"The seal could not be fully validated \(.*\)\.",
         _say("ตรวจยืนยันตราประทับอิเล็กทรอนิกส์ได้ไม่ครบถ้วน")),
        (r"The issuing agency revoked this document(?:: (?P<why>.*))?\.", _revoked_th),
        (r"The seal could not be fully validated\.",
         _say("ตรวจยืนยันตราประทับอิเล็กทรอนิกส์ได้ไม่ครบถ้วน")),
        (r"This document is not in the issuing registry\.",
         _say("ไม่พบเอกสารนี้ในทะเบียนของหน่วยงานผู้ออก")),
        (r"This exact file is not on record in this registry\.",
         _say("ไม่พบไฟล์นี้ในทะเบียนเอกสารของหน่วยงาน")),
        (r"The document is on record in the issuing registry\.",
         _say("เอกสารนี้มีอยู่ในทะเบียนของหน่วยงานผู้ออก")),
        # issue 17: the registry found by what the seal signs, and the verification budgets
        (r"This file is not the exact file on record for document (?P<doc_id>\S+): it was "
         r"updated after the issuing agency sealed it\.",
         _say("ไฟล์นี้ไม่ใช่ไฟล์ที่บันทึกไว้ในทะเบียนของเอกสารเลขที่ {doc_id} ทุกประการ "
              "เพราะมีการปรับปรุงไฟล์หลังจากหน่วยงานผู้ออกประทับตรา")),
        (r"The seal of (?P<signer>.*) is genuine, but this document is not on record in the "
         r"issuing registry, so nobody can confirm that it was not revoked\.",
         _say("ตราประทับของ {signer} เป็นของจริง แต่ไม่พบเอกสารนี้ในทะเบียนของหน่วยงานผู้ออก "
              "จึงยืนยันไม่ได้ว่าเอกสารยังไม่ถูกเพิกถอน")),
        (r"This file is too complex to verify: it has too many (?P<what>.*) \((?P<found>.*); "
         r"the limit is (?P<limit>[^)]*)\)\.",
         lambda m: f"ไฟล์นี้ซับซ้อนเกินกว่าจะตรวจสอบได้ เพราะมี{_BUDGETS_TH.get(m['what'], m['what'])}"
         f"มากเกินไป ({m['found']} เกินขีดจำกัด {m['limit']})"),
        (r"This file is too complex to verify: checking it stopped the verifier\.",
         _say("ไฟล์นี้ซับซ้อนเกินกว่าจะตรวจสอบได้ การตรวจสอบจึงถูกหยุดไว้")),
    ),
    "en": _table((_SEALED, _sealed_en)),
}


# The trust store's sentences (edoc/anchoring.py, edoc/remote_status.py): a seal from elsewhere.
_GENUINE = r"Genuinely sealed by (?P<signer>.+?), trusted via (?P<anchor>.+?)"
_GENUINE_TH = "ตราประทับเป็นของจริง ประทับโดย {signer} เชื่อถือได้ผ่าน {anchor}"
_WORDING["th"] += _table(
    (_GENUINE + r"; the issuing registry was not consulted\.",
     _say(_GENUINE_TH + " แต่ไม่ได้ตรวจสอบสถานะกับทะเบียนของหน่วยงานผู้ออก")),
    (_GENUINE + r"; status from the issuing registry at (?P<base>\S+)\.",
     _say(_GENUINE_TH + " สถานะได้จากทะเบียนของหน่วยงานผู้ออกที่ {base}")),
    (_GENUINE + r"; the issuing registry at (?P<base>\S+) could not be consulted: .*\.",
     _say(_GENUINE_TH + " แต่ติดต่อทะเบียนของหน่วยงานผู้ออกที่ {base} ไม่ได้")),
    (_GENUINE + r", but the issuing registry at (?P<base>\S+) has no record of it\.",
     _say(_GENUINE_TH + " แต่ทะเบียนของหน่วยงานผู้ออกที่ {base} ไม่มีบันทึกของเอกสารนี้")),
    (r"The seal was made by (?P<signer>.+?), whose root (?P<anchor>\S+) is trusted "
     r"for timestamps only\.",
     _say("ตราประทับนี้ทำโดย {signer} ซึ่งใบรับรองหลัก {anchor} เชื่อถือได้เฉพาะการประทับเวลา")),
    (r"The seal was made by (?P<signer>.+?), whose root (?P<anchor>\S+) is trusted "
     r"for seals only\.",
     _say("ตราประทับเวลานี้ทำโดย {signer} ซึ่งใบรับรองหลัก {anchor} เชื่อถือได้เฉพาะตราประทับ")),
    (r"The timestamp on the seal comes from (?P<tsa>.+?), whose root (?P<anchor>\S+) is not "
     r"trusted for timestamps\.",
     _say("การประทับเวลาบนตราประทับมาจาก {tsa} ซึ่งใบรับรองหลัก {anchor} ไม่ได้รับความเชื่อถือสำหรับการประทับเวลา")),
    (r"The seal was made by (?P<signer>.+?) under (?P<anchor>\S+), whose trusted list "
     r"status on (?P<on>\S+) is (?P<state>.+)\.",
     _say("ตราประทับนี้ทำโดย {signer} ภายใต้ {anchor} ซึ่งในวันที่ {on} "
          "รายการผู้ให้บริการที่เชื่อถือได้ระบุสถานะว่า {state}")),
)


def reason(text: str, lang: str) -> Reason:
    """One verifier reason in ``lang``; as the verifier wrote it (English) when none is known."""
    for pattern, make in _WORDING.get(lang, ()):
        match = pattern.match(text)
        if match:
            return Reason(make(match), lang)
    return Reason(text, "en")


#: Thai compounds a browser's dictionary would split in two ("เพิก|ถอน"): kept whole.
KEEP_WHOLE = ("เพิกถอน",)
_KEEP = re.compile("|".join(KEEP_WHOLE))


def keep_words(text: object):
    """HTML for ``text`` with each of :data:`KEEP_WHOLE` in a no-wrap span (a Jinja filter)."""
    from markupsafe import Markup, escape

    escaped = str(escape("" if text is None else text))
    return Markup(_KEEP.sub(lambda m: f'<span class="kw">{m.group()}</span>', escaped))
