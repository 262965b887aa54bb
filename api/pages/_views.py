"""What the pages show, built from registry records and verification reports.

Pure functions from domain values to small frozen view values; the templates
only lay them out. Nothing here reads a request or the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edoc.revocation_reasons import label as revocation_label
from signing.report import VerificationReport
from storage.registry import DocumentRecord

from ._text import STRINGS, Reason, reason, when

#: How each outcome looks: "ok" (green, check mark), "bad" (red, cross), "warn" (amber, !).
TONES = {
    "valid": "ok",
    "revoked": "bad",
    "invalid": "bad",
    "mismatch": "bad",
    "unknown": "warn",
    "unregistered": "warn",
    "indeterminate": "warn",
    "not_pdf": "bad",
    "damaged": "bad",
    "unsigned": "bad",
    "password": "warn",
}

#: Files that never got as far as a seal: each its own headline, on any page.
_FILE_CODES = {
    "not-pdf": "not_pdf",
    "damaged": "damaged",
    "unsigned": "unsigned",
    "password-required": "password",
}


@dataclass(frozen=True)
class Fact:
    """One labelled detail of a document; ``lang`` marks a value in another language."""

    label: str
    value: str
    lang: str | None = None


@dataclass(frozen=True)
class Panel:
    """A verdict as a citizen reads it: a headline word, a sentence, the details."""

    outcome: str
    headline: str
    note: str
    facts: tuple[Fact, ...] = ()

    @property
    def tone(self) -> str:
        """``ok``, ``bad`` or ``warn``: the colour and icon of the panel."""
        return TONES[self.outcome]


@dataclass(frozen=True)
class Seal:
    """One electronic seal of an uploaded file, for the details an auditor may want."""

    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class FileResult:
    """The outcome of checking one uploaded file."""

    panel: Panel
    filename: str | None
    reasons: tuple[Reason, ...]
    seals: tuple[Seal, ...]
    document_id: str | None
    """The registered document the file is, when it is one (links to its status page)."""


@dataclass(frozen=True)
class Directory:
    """Names the pages show: the agency's, and each template's document type, by language.

    The document type comes from the template, never from the record's title:
    a title may carry the holder's full name, and the pages show only the
    masked one.
    """

    agency_id: str
    name_th: str
    name_en: str
    document_types: Callable[[str, str], tuple[str, str | None] | None] = lambda name, lang: None
    """``(template, lang)`` → ``(title, its language)``, or None for an unknown template."""

    agency_document_types: Callable[[str, str, str], tuple[str, str | None] | None] | None = None
    """``(agency, template, lang)`` → as ``document_types``, among that agency's own templates too."""
    agency_names: Callable[[str], tuple[str, str] | None] = lambda code: None
    """An agency of the platform → its ``(Thai name, English name)``, or None for an unknown code."""

    def agency_name(self, code: str | None, lang: str) -> str:
        """The agency's name in ``lang``; an unknown agency's code as it is."""
        if code is not None:
            names = self.agency_names(code)
            if names is not None:
                return names[0] if lang == "th" else names[1]
        if code == self.agency_id or code is None:
            return self.name_th if lang == "th" else self.name_en
        return code

    def local_name(self, name: str, lang: str) -> tuple[str, str | None]:
        """A certificate's name (English, as the PKI writes it) in ``lang`` when it is ours.

        Returns (name, its language when not ``lang``).
        """
        if lang != "th" or not name:
            return name, None
        thai = {
            f"{self.name_en} Electronic Seal": f"ตราประทับอิเล็กทรอนิกส์ของ{self.name_th}",
            f"{self.name_en} Time-Stamping Authority": f"หน่วยประทับรับรองเวลาของ{self.name_th}",
        }.get(name)
        return (thai, None) if thai else (name, "en")

    def localise(self, text: str, lang: str) -> str:
        """``text`` with our certificates' English names given in ``lang``."""
        if lang != "th":
            return text
        for suffix in ("Electronic Seal", "Time-Stamping Authority"):
            english = f"{self.name_en} {suffix}"
            if english in text:
                text = text.replace(english, self.local_name(english, lang)[0])
        return text


@dataclass(frozen=True)
class Printed:
    """What the document itself prints (its title and filled lines), in its own language."""

    title: str | None
    lines: tuple[tuple[str | None, str], ...]
    """(printed label or None, printed text)."""


def _document_facts(
    record: DocumentRecord, lang: str, directory: Directory, printed: Printed | None = None
) -> tuple[Fact, ...]:
    """The details shown for a registered document (the holder's name only masked).

    With ``printed``, the title and lines as the document prints them (dates as
    written on it), instead of the template's generic type and the registry's date.
    """
    t = STRINGS[lang]
    doc_lang = record.lang if record.lang != lang else None
    facts = [Fact(t["agency"], directory.agency_name(record.agency, lang))]
    doc_type = (directory.agency_document_types(record.agency, record.template, lang)
                if directory.agency_document_types is not None
                else directory.document_types(record.template, lang))
    if printed is not None and printed.title:
        facts.append(Fact(t["doc_title"], printed.title, doc_lang))
    elif doc_type is not None:
        title, title_lang = doc_type
        facts.append(Fact(t["doc_type"], title, title_lang if title_lang != lang else None))
    # A name is written in the document's language (for screen readers' voices).
    holder = Fact(t["holder"], record.holder_masked or "", doc_lang)
    if printed is not None and printed.lines:
        facts.append(holder)
        facts += [Fact(label or t["printed"], text, doc_lang) for label, text in printed.lines
                  if record.holder_masked not in text and text not in (printed.title or "")]
    else:
        facts += [Fact(t["issued_at"], when(record.issued_at, lang)), holder]
    if record.status == "revoked":
        facts += [
            Fact(t["revoked_at"], when(record.revoked_at, lang)),
            # the fixed category, never the officer's own words (they may name people)
            Fact(t["revocation_reason"], revocation_label(record.revocation_category, lang)),
        ]
    facts.append(Fact(t["doc_id"], record.id))
    return tuple(f for f in facts if f.value)


def status_panel(
    doc_id: str,
    record: DocumentRecord | None,
    lang: str,
    directory: Directory,
    printed: Printed | None = None,
) -> Panel:
    """The registry's word on a document id: valid, revoked, or not in the register."""
    t = STRINGS[lang]
    if record is None:
        # Echo the id asked for (shortened), so a mistyped address is easy to spot.
        asked = (Fact(t["doc_id"], doc_id[:80]),) if doc_id else ()
        return Panel("unknown", t["status.unknown"], t["status.unknown.note"], asked)
    outcome = "revoked" if record.status == "revoked" else "valid"
    facts = _document_facts(record, lang, directory, printed)
    return Panel(outcome, t[f"status.{outcome}"], t[f"status.{outcome}.note"], facts)


def file_outcome(report: VerificationReport, expected_id: str | None) -> str:
    """The outcome of an uploaded file, for one document (``expected_id``) or any.

    One of ``valid``, ``invalid``, ``revoked``, ``mismatch``, ``unregistered``,
    ``indeterminate``.

    For a document's own page the file must be that document's registered file:
    a genuine file of another document, or any file the registry does not know,
    is a mismatch there, never "valid".
    """
    code = _FILE_CODES.get(str(report.details.get("code", "")))
    if code is not None:
        return code
    registry = report.registry
    if report.verdict == "invalid":
        if registry is not None and registry.status == "revoked":
            if expected_id is None or registry.document_id == expected_id:
                return "revoked"
            return "mismatch"
        return "invalid"
    if expected_id is not None and (registry is None or registry.document_id != expected_id):
        return "mismatch"
    if (report.verdict == "valid" and (registry is None or registry.status == "unknown")) or (
        report.details.get("sealed_but_not_on_record")
    ):
        # A good seal the registry has no record of (e.g. made with `edoc sign`):
        # genuine and unaltered, but nobody can say whether it was revoked.
        return "unregistered"
    return report.verdict  # valid or indeterminate


def _seals(report: VerificationReport, lang: str, directory: Directory) -> tuple[Seal, ...]:
    t = STRINGS[lang]
    seals = []
    for sig in report.signatures:
        facts = [Fact(t["sealed_by"], *directory.local_name(sig.signer or "", lang))]
        if sig.timestamp is not None:
            facts.append(Fact(t["timestamp"], when(sig.timestamp.time, lang, with_time=True)))
            facts.append(Fact(t["tsa"], *directory.local_name(sig.timestamp.tsa, lang)))
        seals.append(Seal(tuple(f for f in facts if f.value)))
    return tuple(s for s in seals if s.facts)


def file_result(
    report: VerificationReport,
    *,
    expected_id: str | None,
    matched: DocumentRecord | None,
    lang: str,
    directory: Directory,
) -> FileResult:
    """What the page says about an uploaded file; ``matched`` is the document it is, if any."""
    t = STRINGS[lang]
    outcome = file_outcome(report, expected_id)
    # Details of the registered document are shown only when the file *is* the one
    # asked about (or, on the general page, whichever one it is).
    shown = matched if outcome in ("valid", "revoked", "indeterminate") else None
    facts = _document_facts(shown, lang, directory) if shown is not None else ()
    note = t[f"result.{outcome}.note"].format(doc_id=expected_id or "")
    panel = Panel(outcome, t[f"result.{outcome}"], note, facts)
    reasons = report.reasons
    if outcome == "mismatch" and matched is not None:
        # The file is some other registered document: its reasons ("sealed by...,
        # not changed since") would read as a yes. The note says what matters.
        reasons = ()
    return FileResult(
        panel=panel,
        filename=(report.file or "")[:120] or None,
        reasons=tuple(_localised(reason(r, lang), directory) for r in reasons),
        seals=_seals(report, lang, directory),
        document_id=shown.id if shown is not None else None,
    )


def _localised(r: Reason, directory: Directory) -> Reason:
    return Reason(directory.localise(r.text, r.lang), r.lang)
