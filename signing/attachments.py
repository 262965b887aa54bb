"""Embedded files as a given revision of a PDF has them.

A receiving agency must only take data a seal covers: the files are read from
the revision the seal signed (pyHanko's historical view), so an attachment
added or swapped by a later, unsigned update is never seen.
"""

from __future__ import annotations

from pyhanko.pdf_utils import generic

from ._fields import open_pdf

#: Refuse to hand over more than this per file (a PDF may claim anything).
MAX_ATTACHMENT = 8 * 1024 * 1024


def embedded_files(data: bytes, revision: int, *, password: str | None = None) -> dict[str, bytes]:
    """Name → bytes of the files embedded in revision ``revision`` (1 = the original file)."""
    reader, _ = open_pdf(data, password=password)
    view = reader.get_historical_resolver(revision - 1)
    root = view.root
    found: dict[str, bytes] = {}
    try:
        tree = root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        tree = None
    if tree is not None:
        for name, spec in _name_tree(tree):
            _take(found, name, spec)
    for spec in root.get("/AF", ()):  # PDF 2.0 associated files
        spec = spec.get_object()
        if isinstance(spec, generic.DictionaryObject):
            _take(found, str(spec.get("/UF", spec.get("/F", ""))), spec)
    return found


def _name_tree(node, depth: int = 0):
    node = node.get_object()
    if depth > 16 or not isinstance(node, generic.DictionaryObject):
        return
    names = node.get("/Names")
    if names is not None:
        items = list(names)
        for i in range(0, len(items) - 1, 2):
            yield str(items[i]), items[i + 1]
    for kid in node.get("/Kids", ()):
        yield from _name_tree(kid, depth + 1)


def _take(found: dict[str, bytes], name: str, spec) -> None:
    if not name or name in found:
        return
    spec = spec.get_object()
    try:
        stream = spec["/EF"].get("/UF") or spec["/EF"]["/F"]
        stream = stream.get_object()
        raw = stream.data
    except Exception:
        return
    if len(raw) <= MAX_ATTACHMENT:
        found[name] = raw
