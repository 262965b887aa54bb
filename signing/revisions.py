"""What each incremental update of a signed PDF did, and whether the signatures allow it.

A PDF grows by revisions: a later signature, a document timestamp, the DSS of
an LT/LTA extension, filled-in form fields and added annotations are all
appended as updates, and none of them changes what was signed. A change to a
page's content or resources does. :func:`classify` names the kind of every
revision after the first (pyHanko's difference analysis decides what it can;
what it calls suspicious is looked at once more to tell added annotations from
content changes), and :func:`judge` says which the signatures' DocMDP/FieldMDP
permissions forbid.

Revisions are numbered from 1 (the original file) in reports, as a reader counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.fields import MDPPerm

from .report import RevisionReport

log = logging.getLogger(__name__)

#: Kinds of change, mildest first; ``content`` is the one that alters what was signed.
KINDS = (
    "signature",
    "document-timestamp",
    "dss",
    "metadata",
    "form-filling",
    "annotations",
    "content",
)

WORDS = {
    "signature": "a signature was added",
    "document-timestamp": "a document timestamp was added",
    "dss": "validation data (certificates, revocation information) was added",
    "metadata": "document information was updated",
    "form-filling": "form fields were filled in",
    "annotations": "annotations (comments, marks) were added or changed",
    "content": "pages or content were modified",
}


@dataclass(frozen=True)
class Signed:
    """What :func:`judge` needs to know of one signature."""

    field_name: str
    revision: int
    """0-based revision the signature was written in."""
    kind: str
    docmdp: MDPPerm | None = None
    lock: Any = None
    """Its FieldMDP spec (pyHanko's ``FieldMDPSpec``: all, include or exclude), if any."""


def classify(reader: PdfFileReader, signed: list[Signed]) -> list[tuple[set[str], set[str], str | None]]:
    """Per revision (0-based index): (kinds of change, fields filled, pyHanko's objection)."""
    total = reader.xrefs.total_revisions
    by_rev: dict[int, list[Signed]] = {}
    for s in signed:
        by_rev.setdefault(s.revision, []).append(s)
    out: list[tuple[set[str], set[str], str | None]] = [(set(), set(), None)]
    first = min(by_rev, default=total)
    for rev in range(1, total):
        kinds = {s.kind for s in by_rev.get(rev, [])}
        fields = {s.field_name for s in by_rev.get(rev, [])}
        objection = None
        if rev <= first:
            # nothing signed yet: the file was still being made, no permission applies
            # (and the difference analysis would cost time for no verdict)
            out.append((kinds or {"content"}, fields, None))
            continue
        try:
            old = reader.get_historical_resolver(rev - 1)
            new = reader.get_historical_resolver(rev)
            try:
                result = DEFAULT_DIFF_POLICY.apply(old, new)
                level = result.modification_level
                changed = set(result.changed_form_fields) - fields
                if changed:
                    kinds.add("form-filling")
                    fields |= changed
                if level >= ModificationLevel.FORM_FILLING and not kinds:
                    kinds.add("form-filling")
                elif level == ModificationLevel.ANNOTATIONS:
                    kinds.add("annotations")
                elif level == ModificationLevel.OTHER:
                    kinds |= _look_closer(old, new, rev, reader)
            except Exception as exc:  # SuspiciousModification and friends
                objection = str(exc)
                kinds |= _look_closer(old, new, rev, reader)
            kinds |= _catalog_changes(old, new)
        except Exception as exc:  # unreadable revision: assume the worst
            log.info("revision %d cannot be compared: %r", rev, exc)
            kinds.add("content")
            objection = objection or f"{type(exc).__name__}: {exc}"
        if not kinds:
            kinds.add("metadata")
        out.append((kinds, fields, objection))
    return out


def judge(reader: PdfFileReader, signed: list[Signed]) -> list[RevisionReport]:
    """Every revision with its kinds of change and whether earlier signatures permit it."""
    revisions = []
    for index, (kinds, fields, objection) in enumerate(classify(reader, signed)):
        ordered = tuple(k for k in KINDS if k in kinds)
        if index == 0:
            revisions.append(RevisionReport(1, (), tuple(sorted(fields)), description="the original file"))
            continue
        earlier = [s for s in signed if s.revision < index]
        if not earlier:
            revisions.append(RevisionReport(index + 1, ordered, tuple(sorted(fields)), None, None,
                                            _describe(ordered), objection))
            continue
        culprit = _forbidding(ordered, fields, earlier)
        revisions.append(
            RevisionReport(index + 1, ordered, tuple(sorted(fields)), culprit is None, culprit,
                           _describe(ordered), objection)
        )
    return revisions


def _describe(kinds: tuple[str, ...]) -> str:
    return "; ".join(WORDS[k] for k in kinds)


def _forbidding(kinds: tuple[str, ...], fields: set[str], earlier: list[Signed]) -> str | None:
    """The field name of the first earlier signature that forbids one of ``kinds``, if any."""
    certification = next((s for s in earlier if s.docmdp is not None), None)
    perm = certification.docmdp if certification else None
    for kind in kinds:
        if kind == "content":
            # what was signed is no longer what is shown: no permission allows it
            return (certification or earlier[0]).field_name
        if kind == "annotations" and perm in (MDPPerm.NO_CHANGES, MDPPerm.FILL_FORMS):
            return certification.field_name  # type: ignore[union-attr]
        if kind in ("form-filling", "signature") and perm is MDPPerm.NO_CHANGES:
            return certification.field_name  # type: ignore[union-attr]
    if "form-filling" in kinds or "signature" in kinds:
        for s in earlier:
            if s.lock is not None and any(s.lock.is_locked(f) for f in fields):
                return s.field_name
    return None


def _catalog_changes(old, new) -> set[str]:
    kinds: set[str] = set()
    try:
        old_root, new_root = old.root, new.root
    except Exception:
        return kinds
    if "/DSS" in new_root and _raw(new_root, "/DSS") != _raw(old_root, "/DSS"):
        kinds.add("dss")
    return kinds


def _raw(d, key):
    try:
        return d.raw_get(key)
    except KeyError:
        return None


_ANNOT_KEYS = {"/Annots"}
#: Catalog entries an update may change without touching what the pages show.
_BENIGN_CATALOG_KEYS = {"/AcroForm", "/DSS", "/Metadata", "/Extensions", "/Perms", "/Version"}
_CONTAINERS = {"/XRef", "/ObjStm"}


def _look_closer(old, new, rev: int, reader: PdfFileReader) -> set[str]:
    """Kinds of change in a revision pyHanko's policy objected to: annotations, or content.

    A new object harms nothing until an existing one points at it, so each
    overwritten object must be explained (a page whose only change is its
    ``/Annots``, an annotation, the form, the catalog's benign entries, the
    document information); anything else counts as a content change.
    """
    kinds: set[str] = set()
    content_refs, page_refs, annots_refs = _content_refs(old)
    info = _raw(old.trailer_view, "/Info")
    info_key = (info.idnum, info.generation) if isinstance(info, generic.IndirectObject) else None
    acroform = _raw(old.root, "/AcroForm")
    form_key = (
        (acroform.idnum, acroform.generation) if isinstance(acroform, generic.IndirectObject) else None
    )
    root_ref = _raw(old.trailer_view, "/Root")
    root_key = (root_ref.idnum, root_ref.generation) if root_ref is not None else None
    for ref in reader.xrefs.explicit_refs_in_revision(rev):
        key = (ref.idnum, ref.generation)
        try:
            obj = new.get_object(ref)
        except Exception:
            kinds.add("content")
            continue
        if isinstance(obj, generic.StreamObject) and obj.get("/Type") in _CONTAINERS:
            continue
        if isinstance(obj, generic.DictionaryObject) and obj.get("/FT") == "/Sig":
            kinds.add("signature" if _raw(obj, "/V") is not None else "form-filling")
            continue
        if not _exists(old, ref):
            if isinstance(obj, generic.DictionaryObject) and _is_annotation(obj):
                kinds.add("form-filling" if _is_field(obj) else "annotations")
            continue
        before = old.get_object(ref)
        if key in page_refs:
            changed = _changed_keys(before, obj)
            if changed - _ANNOT_KEYS:
                kinds.add("content")
            elif _annots_changed(old, new, before, obj):
                kinds.add("annotations")
        elif key in content_refs:
            kinds.add("content")
        elif key in annots_refs:
            kinds.add("annotations")
        elif key == root_key:
            changed = _changed_keys(before, obj)
            if changed - _BENIGN_CATALOG_KEYS:
                kinds.add("content")
            # the form's own changes are judged by its fields' objects
        elif key == info_key or (isinstance(obj, generic.StreamObject)
                                 and obj.get("/Type") == "/Metadata"):
            kinds.add("metadata")
        elif key == form_key:
            if _changed_keys(before, obj) - {"/Fields", "/SigFlags"}:
                kinds.add("form-filling")
        elif isinstance(obj, generic.DictionaryObject) and _is_annotation(obj):
            kinds.add("form-filling" if _is_field(obj) else "annotations")
        elif isinstance(obj, generic.DictionaryObject) and _is_field(obj):
            kinds.add("form-filling")
        else:
            kinds.add("content")
    return kinds or {"content"}


def _changed_keys(before, after) -> set[str]:
    if not (isinstance(before, generic.DictionaryObject) and isinstance(after, generic.DictionaryObject)):
        return {"*"}
    return {
        k for k in set(after.keys()) | set(before.keys())
        if _plain(_raw(after, k)) != _plain(_raw(before, k))
    }


def _plain(value, depth: int = 0):
    """A value comparable across revisions (references by number, not by resolver)."""
    if isinstance(value, generic.IndirectObject):
        return ("ref", value.idnum, value.generation)
    if depth > 8:
        return repr(value)
    if isinstance(value, generic.DictionaryObject):
        return tuple(sorted((str(k), _plain(value.raw_get(k), depth + 1)) for k in value))
    if isinstance(value, generic.ArrayObject):
        return tuple(_plain(v, depth + 1) for v in list.__iter__(value))
    return value


def _annots_changed(old, new, before, after) -> bool:
    """True unless the only new annotations are signature widgets (which a signature explains)."""
    def refs(page, resolver):
        annots = _raw(page, "/Annots")
        if isinstance(annots, generic.IndirectObject):
            annots = resolver.get_object(annots)
        if not isinstance(annots, generic.ArrayObject):
            return set()
        return {_plain(v) for v in list.__iter__(annots)}

    old_refs, new_refs = refs(before, old), refs(after, new)
    if old_refs - new_refs:
        return True  # an annotation was removed
    for item in new_refs - old_refs:
        if not (isinstance(item, tuple) and item[:1] == ("ref",)):
            return True
        annot = new.get_object(generic.Reference(item[1], item[2]))
        parent = annot.get("/Parent") if isinstance(annot, generic.DictionaryObject) else None
        ft = annot.get("/FT") if isinstance(annot, generic.DictionaryObject) else None
        if ft is None and isinstance(parent, generic.DictionaryObject):
            ft = parent.get("/FT")
        if ft != "/Sig":
            return True
    return False


def _is_field(obj: generic.DictionaryObject) -> bool:
    return "/FT" in obj or "/Parent" in obj or "/T" in obj


def _exists(resolver, ref) -> bool:
    try:
        obj = resolver.get_object(ref)
    except Exception:
        return False
    return obj is not None and not isinstance(obj, generic.NullObject)


def _is_annotation(obj: generic.DictionaryObject) -> bool:
    return obj.get("/Type") == "/Annot" or ("/Subtype" in obj and "/Rect" in obj)


Refs = set[tuple[int, int]]


def _content_refs(resolver) -> tuple[Refs, Refs, Refs]:
    """Refs of (page contents, resources and their XObjects/fonts; page dicts; /Annots arrays)."""
    content: Refs = set()
    pages: Refs = set()
    annots: Refs = set()

    def note(value) -> object:
        if isinstance(value, generic.IndirectObject):
            content.add((value.idnum, value.generation))
            return value.get_object()
        return value

    def walk(node_ref, depth=0):
        if depth > 64:
            return
        node = node_ref.get_object() if isinstance(node_ref, generic.IndirectObject) else node_ref
        if not isinstance(node, generic.DictionaryObject):
            return
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            for kid in node.get("/Kids", ()):
                walk(kid, depth + 1)
            return
        if isinstance(node_ref, generic.IndirectObject):
            pages.add((node_ref.idnum, node_ref.generation))
        annots_ref = _raw(node, "/Annots")
        if isinstance(annots_ref, generic.IndirectObject):
            annots.add((annots_ref.idnum, annots_ref.generation))
        contents = note(_raw(node, "/Contents"))
        if isinstance(contents, generic.ArrayObject):
            for item in contents:
                note(item)
        resources = note(_raw(node, "/Resources"))
        if isinstance(resources, generic.DictionaryObject):
            for group in ("/XObject", "/Font", "/ExtGState", "/Pattern", "/Shading", "/ColorSpace"):
                entries = note(_raw(resources, group))
                if isinstance(entries, generic.DictionaryObject):
                    for name in entries:
                        note(entries.raw_get(name))

    try:
        walk(resolver.root.raw_get("/Pages"))
    except Exception:
        log.debug("page tree unreadable", exc_info=True)
    return content, pages, annots


def revision_bytes(data: bytes, reader: PdfFileReader, number: int) -> bytes:
    """The file as it was at revision ``number`` (1 = the original file)."""
    total = reader.xrefs.total_revisions
    if not 1 <= number <= total:
        raise ValueError(f"the file has revisions 1 to {total}, not {number}")
    if number == total:
        return data
    end = reader.xrefs.get_xref_container_info(number - 1).end_location
    eof = data.find(b"%%EOF", end)
    if eof < 0:
        raise ValueError(f"revision {number} has no end-of-file marker")
    stop = eof + 5
    while stop < len(data) and data[stop : stop + 1] in (b"\r", b"\n"):
        stop += 1
    return data[:stop]
