"""Issuing documents end to end: render, seal, store, register, revoke, verify."""

from __future__ import annotations

import json
import subprocess

import pytest
from pypdf import PdfReader

from edoc.errors import DataInvalid, NotFound
from edoc.issuance import IdempotencyConflict
from edoc.verification import Verifier
from tests.tools import require

TEMPLATES = [("certificate", "th"), ("certificate", "en"), ("letter", "th"), ("letter", "en"),
             ("record", "th"), ("record", "en")]


def example(home, name: str, lang: str) -> dict:
    return json.loads(json.dumps(home.templates().get(name).examples[lang]))


def verify(home, pdf: bytes):
    return Verifier.for_home(home).verify(pdf, name="doc.pdf")


@pytest.mark.parametrize("name,lang", TEMPLATES)
def test_each_builtin_template_issues_a_valid_registered_document(home, name, lang):
    doc = home.issuer().issue(name, example(home, name, lang), lang=lang)
    pdf = home.issuer().pdf(doc.record)
    report = verify(home, pdf)
    assert report.verdict == "valid", report.reasons
    assert report.registry.status == "issued"
    assert report.registry.document_id == doc.id
    assert doc.verify_url == f"{home.settings.public_base_url}/verify/{doc.id}"
    assert doc.record.lang == lang
    assert doc.record.level == "B-T"
    assert "*" in doc.record.holder_masked


def test_document_ids_are_unguessable(home):
    ids = {home.issuer().issue("certificate", example(home, "certificate", "th")).id for _ in range(3)}
    assert len(ids) == 3
    for doc_id in ids:
        assert len(doc_id) >= 26  # >= 128 bits in base32


def test_registry_row_records_what_the_issue_asks(home):
    doc = home.issuer().issue("certificate", example(home, "certificate", "th"), lang="th")
    record = home.registry().get(doc.id)
    pdf = home.store().get(record.sha256)
    import hashlib

    assert hashlib.sha256(pdf).hexdigest() == record.sha256
    assert record.template == "certificate"
    # the registry keeps the document type, never a title carrying the holder's full name
    assert record.title == home.templates().get("certificate").title_in("th")
    assert record.agency == home.settings.agency_id
    assert record.status == "issued" and record.issued_at.tzinfo is not None
    # the full holder name never reaches the registry
    holder = example(home, "certificate", "th")
    assert json.dumps(holder, ensure_ascii=False).count(record.holder_masked) == 0


def test_data_is_attached_and_the_verify_link_is_printed(home, tmp_path):
    data = example(home, "certificate", "th")
    doc = home.issuer().issue("certificate", data, lang="th")
    path = tmp_path / "doc.pdf"
    path.write_bytes(home.issuer().pdf(doc.record))
    attachments = PdfReader(path).attachments
    assert json.loads(attachments["data.json"][0]) == data
    require("pdftotext")
    text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True).stdout
    assert doc.id in text.replace("\n", "").replace(" ", "")


def test_revoked_document_verifies_as_revoked_with_reason(home):
    doc = home.issuer().issue("certificate", example(home, "certificate", "en"), lang="en")
    home.issuer().revoke(doc.id, reason="wrong holder: Somchai", category="issued-in-error")
    report = verify(home, home.issuer().pdf(doc.record))
    assert report.verdict == "invalid"
    assert report.registry.status == "revoked"
    # the category's words; the officer's own stay with the agency
    assert "issued in error" in " ".join(report.reasons)
    assert "Somchai" not in str(report.to_dict())
    # the first revocation stands
    again = home.issuer().revoke(doc.id, reason="second thoughts", category="fraud")
    assert again.revocation_reason == "wrong holder: Somchai"
    assert again.revocation_category == "issued-in-error"


def test_revoking_needs_a_reason_and_an_existing_document(home):
    doc = home.issuer().issue("certificate", example(home, "certificate", "th"))
    with pytest.raises(Exception, match="reason"):
        home.issuer().revoke(doc.id, reason="  ")
    with pytest.raises(NotFound):
        home.issuer().revoke("nosuchdocument", reason="x")


def test_idempotent_retry_returns_the_same_document(home):
    data = example(home, "certificate", "th")
    first = home.issuer().issue("certificate", data, idempotency_key="exam-1")
    again = home.issuer().issue("certificate", data, idempotency_key="exam-1")
    assert again.id == first.id and not again.created and first.created
    assert again.holder_token == first.holder_token
    assert home.registry().count() == 1


def test_reusing_an_idempotency_key_for_other_data_is_refused(home):
    data = example(home, "certificate", "th")
    home.issuer().issue("certificate", data, idempotency_key="exam-2")
    with pytest.raises(IdempotencyConflict):
        home.issuer().issue("certificate", data, idempotency_key="exam-2", level="B-B")


def test_holder_token_is_per_document_and_checked(home):
    a = home.issuer().issue("certificate", example(home, "certificate", "th"))
    b = home.issuer().issue("certificate", example(home, "certificate", "th"))
    assert home.issuer().check_holder_token(a.id, a.holder_token)
    assert not home.issuer().check_holder_token(a.id, b.holder_token)
    assert not home.issuer().check_holder_token(a.id, "")


def _nothing_written(home):
    assert home.registry().count() == 0
    assert list(home.store().iter_keys()) == []


def test_schema_error_names_the_field_and_writes_nothing(home):
    data = example(home, "certificate", "th")
    data.pop(next(k for k in data if k != "lang"))
    with pytest.raises(DataInvalid) as exc:
        home.issuer().issue("certificate", data)
    assert exc.value.errors and exc.value.errors[0].field
    _nothing_written(home)


def test_unknown_template_is_not_found_and_writes_nothing(home):
    with pytest.raises(NotFound, match="available"):
        home.issuer().issue("diploma", {})
    _nothing_written(home)


def _lookalike(home, doc) -> bytes:
    """A correctly sealed file naming ``doc``'s id, whose bytes are not the registered ones."""
    from datetime import UTC, datetime

    from edoc.render import render

    tpl = home.templates().get("certificate")
    data = example(home, "certificate", "th")
    data["holder"]["name"] = "นายปลอม ตัวแทน"
    rendered = render(tpl, data, doc_id=doc.id, verify_url=doc.verify_url, agency=home.agency(),
                      lang="th", issued_at=datetime.now(UTC))
    return home.sealer().seal(rendered.pdf, stamp_box=rendered.stamp_box)


def test_file_naming_a_registered_id_with_other_bytes_is_not_valid(home):
    # what a file *says* it is (its /Keywords) never selects a record (issue 17): a genuine
    # seal over bytes the registry does not know is "sealed, not on record", never valid
    doc = home.issuer().issue("certificate", example(home, "certificate", "th"), lang="th")
    report = verify(home, _lookalike(home, doc))
    assert report.signatures[0].intact and report.signatures[0].trusted
    assert report.verdict == "indeterminate"
    assert report.registry.status == "not-on-record" and report.registry.document_id is None
    assert "not on record in the issuing registry" in " ".join(report.reasons)


def test_file_naming_a_revoked_document_is_not_valid_either(home):
    doc = home.issuer().issue("certificate", example(home, "certificate", "th"), lang="th")
    home.issuer().revoke(doc.id, reason="replaced by a corrected certificate")
    report = verify(home, _lookalike(home, doc))
    assert report.verdict == "indeterminate" and report.registry.status == "not-on-record"
