"""Budgets for verifying one file, and the cheap structural scan that enforces most of them.

A small PDF can cost pyHanko minutes: ~8,000 signature fields packed in one
object stream take it ~110 s only to enumerate (each object read walks the
stream's header again), then a validation each. Before pyHanko sees a file,
:func:`prescan` reads its structure with pypdf (which parses an object stream in
one pass) and counts what drives the cost; the CPU time of the whole
verification is limited by :func:`cpu_limit`, and the service's worker pool
kills a worker that runs past its wall-clock limit (``edoc.verifypool``).

Defaults (``edoc.toml`` / ``EDOC_VERIFY_MAX_*`` change them, see edoc/settings.py):

====================  ========  ==========================================================
budget                default   counts
====================  ========  ==========================================================
objects               50,000    indirect objects in the cross-reference tables
objects_per_stream    1,000     objects packed in one object stream
fields                500       form fields (signature fields included), kids counted
signatures            20        signature fields
revisions             100       incremental updates (``startxref`` markers)
nesting               32        depth of the form-field and page trees
decompressed_bytes    100 MB    object and cross-reference streams, inflated
cpu_seconds           20        CPU time of one verification
====================  ========  ==========================================================

Our own documents use a few hundred objects, one or two signatures and at most a
few dozen revisions after decades of archive renewals.
"""

from __future__ import annotations

import logging
import signal
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True)
class VerifyBudgets:
    """The most one verification may take; see the module's table for the defaults."""

    objects: int = 50_000
    objects_per_stream: int = 1_000
    fields: int = 500
    signatures: int = 20
    revisions: int = 100
    nesting: int = 32
    decompressed_bytes: int = 100 * MB
    cpu_seconds: float = 20.0

    @classmethod
    def from_settings(cls, settings) -> VerifyBudgets:
        """The budgets an installation's settings name (``verify_max_*``)."""
        return cls(
            objects=settings.verify_max_objects,
            objects_per_stream=settings.verify_max_objects_per_stream,
            fields=settings.verify_max_fields,
            signatures=settings.verify_max_signatures,
            revisions=settings.verify_max_revisions,
            nesting=settings.verify_max_nesting,
            decompressed_bytes=settings.verify_max_decompressed_bytes,
            cpu_seconds=settings.verify_max_cpu_seconds,
        )


DEFAULT_BUDGETS = VerifyBudgets()


@dataclass(frozen=True)
class Exceeded:
    """Which budget a file goes over, in words for the report."""

    budget: str
    limit: float
    found: str
    """What was found, e.g. ``"8000"`` or ``"more than 500"``."""

    def sentence(self) -> str:
        """The reason a citizen reads (translated by the pages, see api/pages/_text.py)."""
        if self.budget == "worker":
            return "This file is too complex to verify: checking it stopped the verifier."
        return (
            "This file is too complex to verify: it has too many "
            f"{_WORDS.get(self.budget, self.budget)} ({self.found}; the limit is {self.limit:g})."
        )


_WORDS = {
    "objects": "objects",
    "objects_per_stream": "objects in one object stream",
    "fields": "form fields",
    "signatures": "signatures",
    "revisions": "revisions",
    "nesting": "levels of nesting",
    "decompressed_bytes": "bytes once decompressed",
    "cpu_seconds": "seconds of computing",
}


class OutOfTime(BaseException):
    """The verification used up its CPU time (a BaseException: pyHanko's handlers must not catch it)."""


class _Over(Exception):
    def __init__(self, exceeded: Exceeded):
        self.exceeded = exceeded


def prescan(data: bytes, budgets: VerifyBudgets) -> Exceeded | None:
    """The first budget the file's structure goes over, or None.

    Unreadable structure is not a verdict here: pyHanko then says what is wrong
    (under the CPU limit).
    """
    revisions = data.count(b"startxref")
    if revisions > budgets.revisions:
        return Exceeded("revisions", budgets.revisions, str(revisions))
    try:
        _scan(data, budgets)
        return None
    except _Over as over:
        return over.exceeded
    except RecursionError:
        return Exceeded("nesting", budgets.nesting, "too deep to read")
    except Exception as exc:  # pypdf could not read it: pyHanko will say why
        log.info("structure scan failed: %r", exc)
        return None


def _scan(data: bytes, budgets: VerifyBudgets) -> None:
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

    reader = PdfReader(BytesIO(data), strict=False)
    objects = sum(len(table) for table in reader.xref.values()) + len(reader.xref_objStm)
    _check("objects", objects, budgets.objects)
    per_stream: dict[int, int] = {}
    for stream_number, _index in reader.xref_objStm.values():
        per_stream[stream_number] = per_stream.get(stream_number, 0) + 1
    if per_stream:
        _check("objects_per_stream", max(per_stream.values()), budgets.objects_per_stream)
    inflated = 0
    for number in per_stream:
        stream = reader.get_object(number)
        if isinstance(stream, StreamObject):
            _check("objects_per_stream", int(stream.get("/N", 0) or 0), budgets.objects_per_stream)
            inflated += _inflated_size(stream, budgets.decompressed_bytes - inflated)
            _check("decompressed_bytes", inflated, budgets.decompressed_bytes)

    root = reader.trailer.get("/Root")
    root = root.get_object() if root is not None else None
    if not isinstance(root, DictionaryObject):
        return
    form = root.get("/AcroForm")
    form = form.get_object() if form is not None else None
    counts = {"fields": 0, "signatures": 0}
    if isinstance(form, DictionaryObject):
        fields = form.get("/Fields")
        fields = fields.get_object() if fields is not None else None
        if isinstance(fields, ArrayObject):
            _check("fields", len(fields), budgets.fields)
            _walk_fields(fields, budgets, counts, depth=1, seen=set())
    pages = root.get("/Pages")
    if pages is not None:
        _tree_depth(pages, budgets, depth=1, seen=set())


def _walk_fields(kids, budgets: VerifyBudgets, counts: dict[str, int], *, depth: int, seen: set) -> None:
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    _check("nesting", depth, budgets.nesting)
    for ref in kids:
        key = (ref.idnum, ref.generation) if isinstance(ref, IndirectObject) else None
        if key is not None:
            if key in seen:
                continue  # a loop: pyHanko refuses it on its own
            seen.add(key)
        node = ref.get_object()
        if not isinstance(node, DictionaryObject):
            continue
        counts["fields"] += 1
        _check("fields", counts["fields"], budgets.fields)
        if node.get("/FT") == "/Sig":
            counts["signatures"] += 1
            _check("signatures", counts["signatures"], budgets.signatures)
        children = node.get("/Kids")
        children = children.get_object() if children is not None else None
        if isinstance(children, ArrayObject):
            _walk_fields(children, budgets, counts, depth=depth + 1, seen=seen)


def _tree_depth(ref, budgets: VerifyBudgets, *, depth: int, seen: set) -> None:
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    _check("nesting", depth, budgets.nesting)
    key = (ref.idnum, ref.generation) if isinstance(ref, IndirectObject) else None
    if key in seen:
        return
    if key is not None:
        seen.add(key)
    node = ref.get_object()
    if not isinstance(node, DictionaryObject) or node.get("/Type") != "/Pages":
        return
    kids = node.get("/Kids")
    kids = kids.get_object() if kids is not None else None
    if isinstance(kids, ArrayObject):
        _check("objects", len(seen) + len(kids), budgets.objects)
        for kid in kids:
            _tree_depth(kid, budgets, depth=depth + 1, seen=seen)


def _inflated_size(stream, room: int) -> int:
    """How many bytes a Flate stream inflates to, stopping just past ``room``."""
    filters = stream.get("/Filter")
    if filters != "/FlateDecode":
        return len(stream._data or b"")
    inflater = zlib.decompressobj()
    size, chunk = 0, stream._data or b""
    try:
        while chunk and size <= room:
            size += len(inflater.decompress(chunk, 1 * MB))
            chunk = inflater.unconsumed_tail
    except zlib.error:
        return size  # damaged: pyHanko will say so
    return size


def _check(budget: str, found: int, limit: int) -> None:
    if found > limit:
        shown = f"more than {limit}" if budget == "decompressed_bytes" else str(found)
        raise _Over(Exceeded(budget, limit, shown))


@contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`OutOfTime` in this thread once the process used ``seconds`` more CPU.

    Only the main thread can take signals; elsewhere (a server's thread pool)
    this does nothing, and the structural budgets with the pool's wall-clock
    kill have to do.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(signum, frame):
        raise OutOfTime

    previous = signal.signal(signal.SIGPROF, _expired)
    # and again every 0.25 s of CPU after: a signal that lands in asyncio's own loop code is
    # logged and dropped there (Handle._run catches BaseException), so one shot is not enough
    signal.setitimer(signal.ITIMER_PROF, seconds, 0.25)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
