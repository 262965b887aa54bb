"""The status of a document issued elsewhere, from its issuing deployment's public API.

A document sealed under a trusted root but unknown to our registry was issued
by another deployment. Its PDF names its verification URL in the /Keywords of
the revision the seal covers (``edoc-verify-url:https://b.example/verify/ID``);
when that URL lies under a base URL on the configured allow-list
(``remote_status_allow``), the status is asked of ``{base}/v1/verify/{ID}``
(the public status API every edoc serves). Never of any other URL: no
redirects to another host, strict timeouts, a size cap on the answer, and
answers cached briefly in memory.

>>> remote = RemoteStatus(["https://b.example.go.th"])  # doctest: +SKIP
>>> remote.fetch("https://b.example.go.th", "5x4w...").status  # doctest: +SKIP
'revoked'
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from urllib.parse import urljoin, urlsplit

import httpx

from signing.report import RegistryStatus

log = logging.getLogger(__name__)

_DOC_ID = re.compile(r"[A-Za-z0-9_-]{4,64}")
_MAX_REDIRECTS = 3


@dataclass(frozen=True)
class RemoteAnswer:
    """What the issuing deployment said: a status, or why it could not be asked."""

    base: str
    status: RegistryStatus | None
    problem: str | None = None


def signed_verify_url(data: bytes) -> str | None:
    """The verification URL in the /Keywords of the revision the first seal covers."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    from .render import VERIFY_URL_KEYWORD

    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        seals = [s for s in reader.embedded_signatures if s.sig_object_type != "/DocTimeStamp"]
        if not seals:
            return None
        # what the seal signed, not what a later incremental update may say
        signed = reader.get_historical_resolver(seals[0].signed_revision)
        info = signed.trailer_view["/Info"]
        keywords = str(info.get("/Keywords", ""))
    except Exception:  # no Info, unreadable: no claim
        return None
    for word in keywords.split():
        if word.startswith(VERIFY_URL_KEYWORD):
            return word[len(VERIFY_URL_KEYWORD):] or None
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class RemoteStatus:
    """Asks allow-listed deployments for the status of their documents (thread-safe)."""

    def __init__(
        self,
        allow: Sequence[str],
        *,
        timeout: float = 3.0,
        total: float = 5.0,
        max_bytes: int = 64 * 1024,
        ttl: float = 60.0,
        failure_ttl: float = 5.0,
        cache_size: int = 1024,
    ):
        self.allow = tuple(b.rstrip("/") for b in allow if b.strip())
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 2.0))
        self._total = total
        self._max_bytes = max_bytes
        self._ttl, self._failure_ttl = ttl, failure_ttl
        self._cache: OrderedDict[tuple[str, str], tuple[float, RemoteAnswer]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def deployment_for(self, verify_url: str) -> tuple[str, str] | None:
        """(base, document id) when ``verify_url`` is ``{base}/verify/{id}`` of an allowed base."""
        for base in self.allow:
            prefix = f"{base}/verify/"
            if verify_url.startswith(prefix):
                doc_id = verify_url[len(prefix):]
                if _DOC_ID.fullmatch(doc_id):
                    return base, doc_id
        return None

    def fetch(self, base: str, doc_id: str) -> RemoteAnswer:
        """The deployment's word on ``doc_id`` (cached); ValueError for a base not allowed."""
        if base not in self.allow or not _DOC_ID.fullmatch(doc_id):
            raise ValueError("only allow-listed deployments are asked, for a document id")
        key = (base, doc_id)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        answer = self._ask(base, doc_id)
        ttl = self._ttl if answer.problem is None else self._failure_ttl
        with self._lock:
            self._cache[key] = (now + ttl, answer)
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return answer

    def _ask(self, base: str, doc_id: str) -> RemoteAnswer:
        url = f"{base}/v1/verify/{doc_id}"
        deadline = time.monotonic() + self._total
        try:
            with httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as c:
                for _ in range(_MAX_REDIRECTS + 1):
                    with c.stream("GET", url, headers={"Accept": "application/json"}) as r:
                        if time.monotonic() > deadline:
                            return RemoteAnswer(base, None, "its answer took too long")
                        if r.is_redirect:
                            target = urljoin(url, r.headers.get("location", ""))
                            shown = target[:200]
                            if _origin(target) != _origin(base):
                                return RemoteAnswer(
                                    base, None, f"it redirected to another host ({shown})"
                                )
                            if not target.startswith(base + "/"):
                                return RemoteAnswer(
                                    base, None, f"it redirected outside its base URL ({shown})"
                                )
                            url = target
                            continue
                        if r.status_code == 404:
                            return RemoteAnswer(base, RegistryStatus(status="unknown"))
                        if r.status_code != 200:
                            return RemoteAnswer(base, None, f"it answered HTTP {r.status_code}")
                        body = bytearray()
                        for chunk in r.iter_bytes():
                            body += chunk
                            if len(body) > self._max_bytes:
                                return RemoteAnswer(base, None, "its answer was too large")
                            if time.monotonic() > deadline:
                                return RemoteAnswer(base, None, "its answer took too long")
                        return self._parse(base, doc_id, bytes(body))
                return RemoteAnswer(base, None, "it redirected too often")
        except Exception as exc:  # timeouts, refused connections, a garbage Location...: a reason
            log.info("remote status %s: %r", url, exc)
            return RemoteAnswer(base, None, f"it could not be reached ({type(exc).__name__})")

    @staticmethod
    def _parse(base: str, doc_id: str, body: bytes) -> RemoteAnswer:
        try:
            doc = json.loads(body)
            if doc.get("id") != doc_id or doc.get("status") not in ("issued", "revoked"):
                raise ValueError("not the status of this document")

            def when(key: str) -> datetime | None:
                value = doc.get(key)
                return datetime.fromisoformat(value) if value else None

            status = RegistryStatus(
                status=doc["status"],
                document_id=doc_id,
                issuing_agency=str(doc.get("agency") or "") or None,
                document_type=str(doc.get("document_type") or "") or None,
                issued_at=when("issued_at"),
                holder=str(doc.get("holder") or "") or None,
                revoked_at=when("revoked_at"),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            return RemoteAnswer(base, None, f"its answer was not a document status ({exc})")
        return RemoteAnswer(base, status)


def issued_elsewhere(
    report, data: bytes, *, remote: RemoteStatus | None, own_base: str | None = None
):
    """A valid report our registry has no record of: say so, and ask the issuer if allowed.

    Called only when the local registry has no record of the document. A seal
    trusted via an anchor of the trust store is genuine, but nobody here knows
    whether its issuer has since revoked the document, unless that issuer is a
    deployment on the allow-list, whose public status API is then asked.
    """
    from dataclasses import replace

    if report.verdict != "valid" or report.registry is None or report.registry.status != "unknown":
        return report
    seal = next((s for s in report.signatures if s.kind == "signature" and s.trusted), None)
    if seal is None:
        return report
    url = signed_verify_url(data)
    if url and own_base and url.startswith(own_base.rstrip("/") + "/"):
        return report  # one of ours after all (the registry step has spoken)
    anchor = seal.trust_anchor or "a trusted root"
    target = remote.deployment_for(url) if remote is not None and url else None
    genuine = f"Genuinely sealed by {seal.signer}, trusted via {anchor}"
    if target is None:
        return replace(
            report,
            reasons=(*report.reasons, f"{genuine}; the issuing registry was not consulted."),
            details={**report.details, "issuing_registry": {"consulted": False, "url": url}},
        )
    assert remote is not None
    answer = remote.fetch(*target)
    consulted = {"consulted": answer.status is not None, "url": answer.base}
    details = {**report.details, "issuing_registry": consulted}
    if answer.status is None:
        return replace(
            report,
            reasons=(
                *report.reasons,
                f"{genuine}; the issuing registry at {answer.base} could not be consulted: "
                f"{answer.problem}.",
            ),
            details={**details, "issuing_registry": {**consulted, "problem": answer.problem}},
        )
    if answer.status.status == "unknown":
        return replace(
            report,
            verdict="indeterminate",
            reasons=(
                *report.reasons,
                f"{genuine}, but the issuing registry at {answer.base} has no record of it.",
            ),
            details=details,
        )
    said = replace(report, reasons=(*report.reasons, f"{genuine}; status from the issuing "
                                    f"registry at {answer.base}."), details=details)
    return said.with_registry(answer.status)
