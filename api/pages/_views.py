"""What the pages show, built from registry records and verification reports.

Pure functions from domain values to small frozen view values; the templates
only lay them out. Nothing here reads a request or the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from signing.report import RegistryStatus, VerificationReport
from storage.registry import DocumentRecord

from ._text import STRINGS, Reason, reason, when

#: How each outcome looks: "ok" (green, check mark), "bad" (red, cross), "warn" (amber, !).
TONES = {
    "valid": "ok",
    "revoked": "bad",
    "invalid": "bad",
    "mismatch": "bad",
    "unknown": "warn",
    "indeterminate": "warn",
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
class Agencies:
    """Display names of the agency this installation serves, by language."""

    agency_id: str
    name_th: str
    name_en: str

    def name(self, code: str | None, lang: str) -> str:
        """The agency's name in ``lang``; another agency's code as it is."""
        if code == self.agency_id or code is None:
            return self.name_th if lang == "th" else self.name_en
        return code


def _other_lang(value_lang: str | None, lang: str) -> str | None:
    return value_lang if value_lang and value_lang != lang else None


def document_facts(
    *,
    doc_id: str,
    agency: str,
    title: str | None,
    title_lang: str | None,
    issued_at,
    holder: str | None,
    lang: str,
) -> tuple[Fact, ...]:
    """The details shown for a registered document (the holder's name only masked)."""
    t = STRINGS[lang]
    facts = [
        Fact(t["agency"], agency),
        Fact(t["doc_type"], title or "", _other_lang(title_lang, lang)),
        Fact(t["issued_at"], when(issued_at, lang)),
        Fact(t["holder"], holder or ""),
        Fact(t["doc_id"], doc_id),
    ]
    return tuple(f for f in facts if f.value)


def _revocation_facts(revoked_at, why: str | None, lang: str) -> list[Fact]:
    t = STRINGS[lang]
    facts = [Fact(t["revoked_at"], when(revoked_at, lang))]
    if why:
        facts.append(Fact(t["revocation_reason"], why))
    return [f for f in facts if f.value]


def status_panel(
    doc_id: str, record: DocumentRecord | None, lang: str, agencies: Agencies
) -> Panel:
    """The registry's word on a document id: valid, revoked, or not in the register."""
    t = STRINGS[lang]
    if record is None:
        # Echo the id asked for (shortened), so a mistyped address is easy to spot.
        asked = (Fact(t["doc_id"], doc_id[:80]),) if doc_id else ()
        return Panel("unknown", t["status.unknown"], t["status.unknown.note"], asked)
    outcome = "revoked" if record.status == "revoked" else "valid"
    facts = list(
        document_facts(
            doc_id=record.id,
            agency=agencies.name(record.agency, lang),
            title=record.title,
            title_lang=record.lang,
            issued_at=record.issued_at,
            holder=record.holder_masked,
            lang=lang,
        )
    )
    if outcome == "revoked":
        facts[3:3] = _revocation_facts(record.revoked_at, record.revocation_reason, lang)
    return Panel(outcome, t[f"status.{outcome}"], t[f"status.{outcome}.note"], tuple(facts))


def file_outcome(report: VerificationReport, expected_id: str | None) -> str:
    """The outcome of an uploaded file, for one document (``expected_id``) or any.

    For a document's own page the file must be that document's registered file:
    a genuine file of another document, or any file the registry does not know,
    is a mismatch there, never "valid".
    """
    registry = report.registry
    if report.verdict == "invalid":
        if registry is not None and registry.status == "revoked":
            if expected_id is None or registry.document_id == expected_id:
                return "revoked"
            return "mismatch"
        return "invalid"
    if expected_id is not None and (registry is None or registry.document_id != expected_id):
        return "mismatch"
    return report.verdict  # valid or indeterminate


def _registry_facts(registry: RegistryStatus, lang: str, agencies: Agencies) -> tuple[Fact, ...]:
    facts = list(
        document_facts(
            doc_id=registry.document_id or "",
            agency=agencies.name(registry.issuing_agency, lang),
            title=registry.document_type,
            title_lang=None,
            issued_at=registry.issued_at,
            holder=registry.holder,
            lang=lang,
        )
    )
    if registry.status == "revoked":
        facts[3:3] = _revocation_facts(registry.revoked_at, registry.revocation_reason, lang)
    return tuple(facts)


def _seals(report: VerificationReport, lang: str) -> tuple[Seal, ...]:
    t = STRINGS[lang]
    seals = []
    for sig in report.signatures:
        facts = [Fact(t["sealed_by"], sig.signer or "")]
        if sig.timestamp is not None:
            facts.append(Fact(t["timestamp"], when(sig.timestamp.time, lang, with_time=True)))
            facts.append(Fact(t["tsa"], sig.timestamp.tsa))
        seals.append(Seal(tuple(f for f in facts if f.value)))
    return tuple(s for s in seals if s.facts)


def file_result(
    report: VerificationReport,
    *,
    expected_id: str | None,
    lang: str,
    agencies: Agencies,
) -> FileResult:
    """What the page says about an uploaded file."""
    t = STRINGS[lang]
    outcome = file_outcome(report, expected_id)
    registry = report.registry
    matched = registry is not None and registry.document_id is not None
    # Details of the registered document are shown only when the file *is* the one
    # asked about (or, on the general page, whichever one it is).
    show_document = matched and outcome in ("valid", "revoked", "indeterminate")
    facts = _registry_facts(registry, lang, agencies) if show_document and registry else ()
    note = t[f"result.{outcome}.note"].format(doc_id=expected_id or "")
    panel = Panel(outcome, t[f"result.{outcome}"], note, facts)
    reasons = report.reasons
    if outcome == "mismatch" and matched:
        # The file is some other registered document: its reasons ("sealed by...,
        # not changed since") would read as a yes. The note says what matters.
        reasons = ()
    return FileResult(
        panel=panel,
        filename=(report.file or "")[:120] or None,
        reasons=tuple(reason(r, lang) for r in reasons),
        seals=_seals(report, lang) if report.signatures else (),
        document_id=registry.document_id if show_document and registry else None,
    )
