"""What a sealed document prints, for the page behind its QR code.

The registry keeps a title (which may carry the holder's full name) and the
issue date; the document itself prints more: its own title, the course, the
dates as written on it. :func:`printed_facts` reads the ``data.json`` the seal
covers and fills the template's text blocks the way the renderer did, with the
holder's name masked as the template's ``holder_field`` says, so the reader
compares like with like.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from signing.attachments import embedded_files

from .render._fill import FillContext, fill, localized, lookup
from .thai import mask_name

_PLACEHOLDER = re.compile(r"\{([^{}@][^{}]*)\}")


@dataclass(frozen=True)
class PrintedFact:
    """One line as the document prints it; ``label`` is the printed words before it, if any."""

    label: str | None
    text: str


def document_data(pdf: bytes) -> dict[str, Any] | None:
    """The attached ``data.json`` of the document's first revision after rendering (the sealed one)."""
    for revision in (2, 1):
        try:
            raw = embedded_files(pdf, revision).get("data.json")
        except Exception:  # noqa: BLE001 - an unreadable file has no facts to show
            continue
        if raw is not None:
            try:
                data = json.loads(raw)
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def printed_facts(template, data: dict[str, Any], lang: str, holder_masked: str) -> list[PrintedFact]:
    """The template's text blocks filled as printed: static lines label the next filled one.

    Blocks naming the agency, the document number or the web address (shown
    elsewhere on the page) are left out, and so is any field the template does
    not print (e.g. a national id kept only in the data).
    """
    holder = getattr(template, "holder_field", None)
    masked = dict(data)
    if holder:
        masked = _with(masked, holder.split("."), holder_masked or mask_name(str(lookup(
            FillContext(data, lang), holder) or "")))
    ctx = FillContext(masked, lang)
    facts: list[PrintedFact] = []
    label: str | None = None
    for block in template.layout.get("blocks", ()):
        if block.get("type") != "text":
            continue
        text = localized(block.get("text", ""), lang)
        if not isinstance(text, str) or "{@" in text:
            label = None
            continue
        when = block.get("when")
        if when and not lookup(ctx, when):
            continue
        if not _PLACEHOLDER.search(text):
            label = text.strip() or None
            continue
        value = " ".join(fill(text, ctx).split())
        if value:
            facts.append(PrintedFact(label, value))
        label = None
    return facts


def printed_title(template, data: dict[str, Any], lang: str, holder_masked: str) -> str | None:
    """The document's own title (its ``document_title`` pattern), the holder's name masked."""
    pattern = localized(template.layout.get("document_title"), lang)
    if not pattern:
        return None
    facts = printed_facts(
        _OneBlock(template, pattern), data, lang, holder_masked
    )
    return facts[0].text if facts else None


class _OneBlock:
    def __init__(self, template, text: str):
        self.holder_field = getattr(template, "holder_field", None)
        self.layout = {"blocks": [{"type": "text", "text": text}]}


def _with(data: dict[str, Any], path: list[str], value: str) -> dict[str, Any]:
    out = dict(data)
    if len(path) == 1:
        out[path[0]] = value
        return out
    inner = out.get(path[0])
    out[path[0]] = _with(dict(inner) if isinstance(inner, dict) else {}, path[1:], value)
    return out
