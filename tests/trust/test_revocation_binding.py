"""Issue 17, finding 1: a revoked document stays revoked whatever unsigned update is appended.

The registry is found from what the seal signs, never from the /Keywords id; a
later update is said in plain words; a genuine seal the registry does not know
is "sealed, not on record", never a plain valid. Homes made before the seal
bindings get them from the stored objects.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from edoc.home import Home
from edoc.verification import Verifier
from signing.bindings import signed_revisions
from tests.signing.conftest import plain_pdf

from .hostile_updates import UPDATES, keywords_of

NOT_EXACT = "is not the exact file on record for document"


def example(home, name: str = "certificate", lang: str = "th") -> dict:
    return json.loads(json.dumps(home.templates().get(name).examples[lang]))


def issue(home, *, level: str | None = None):
    doc = home.issuer().issue("certificate", example(home), lang="th", level=level)
    return doc.record, home.issuer().pdf(doc.record)


@pytest.fixture
def revoked(home):
    record, pdf = issue(home)
    home.issuer().revoke(record.id, reason="issued in error")
    return record, pdf


@pytest.mark.parametrize("update", sorted(UPDATES))
def test_revoked_document_with_an_unsigned_update_stays_revoked(home, revoked, update):
    record, pdf = revoked
    changed = UPDATES[update](pdf)
    assert changed.startswith(pdf) and changed != pdf
    report = Verifier.for_home(home).verify(changed)
    assert report.signatures and report.signatures[0].intact  # the seal itself still holds
    assert report.verdict == "invalid"
    assert report.registry.status == "revoked" and report.registry.document_id == record.id
    assert any("revoked this document" in r for r in report.reasons)
    assert any(NOT_EXACT in r and record.id in r for r in report.reasons)


def test_keywords_pointing_at_another_document_still_say_revoked(home, revoked):
    record, pdf = revoked
    other, _ = issue(home)
    report = Verifier.for_home(home).verify(keywords_of(other.id)(pdf))
    assert report.verdict == "invalid"
    assert report.registry.status == "revoked" and report.registry.document_id == record.id


def test_issued_document_with_an_update_is_valid_and_the_update_is_told(home):
    record, pdf = issue(home)
    report = Verifier.for_home(home).verify(UPDATES["new-title"](pdf))
    assert report.verdict == "valid", report.reasons
    assert report.registry.status == "issued" and report.registry.document_id == record.id
    assert any(NOT_EXACT in r for r in report.reasons)
    exact = Verifier.for_home(home).verify(pdf)
    assert exact.verdict == "valid" and not any(NOT_EXACT in r for r in exact.reasons)


def test_the_seal_binding_finds_a_document_whose_registered_file_is_not_a_prefix(home):
    # B-LT: the stored file is the seal's revision plus a DSS update. Cut back to the
    # sealed revision and given a new /Info, the file is no registered version's
    # extension any more: only what the seal signs names the document.
    record, pdf = issue(home, level="B-LT")
    home.issuer().revoke(record.id, reason="issued in error")
    (seal,) = [r for r in signed_revisions(pdf) if r.kind == "signature"]
    assert seal.end < len(pdf)
    cut = UPDATES["remove-keywords"](pdf[: seal.end])
    assert not cut.startswith(pdf)
    report = Verifier.for_home(home).verify(cut)
    assert report.registry.status == "revoked" and report.registry.document_id == record.id
    assert report.verdict == "invalid"


def test_bindings_are_recorded_at_issuance_for_every_seal(home):
    record, pdf = issue(home, level="B-LTA")
    revisions = signed_revisions(pdf)
    assert {r.kind for r in revisions} == {"signature", "document-timestamp"}
    bound = home.registry().find_bound(r.signed_sha256 for r in revisions)
    assert {b.doc_id for b in bound} == {record.id} and len(bound) == len(revisions)


def test_genuine_seal_not_on_record_is_not_a_plain_valid(home):
    sealed = home.sealer().seal(plain_pdf("sealed with edoc sign, never registered"))
    report = Verifier.for_home(home).verify(sealed)
    assert report.verdict == "indeterminate"
    assert report.registry.status == "not-on-record"
    assert any("is genuine, but this document is not on record" in r for r in report.reasons)
    assert report.details["sealed_but_not_on_record"] is True
    # without a registry the seal alone is judged, as before
    assert Verifier(policy=home.trust_policy()).verify(sealed).verdict == "valid"


def _as_before_bindings(home: Home) -> None:
    """Make the home's database what the code before seal bindings left: schema 0002.

    Every later migration's tables and column go (0003 seal bindings, 0004 batches,
    0005 agencies, 0006 revocation categories), as a home of that version has them.
    """
    engine = home.registry().engine
    with engine.begin() as conn:
        for table in ("seal_bindings", "batch_rows", "batches", "agency_audit_links",
                      "audit_checkpoints", "agencies"):
            conn.execute(sa.text(f"DROP TABLE {table}"))
        conn.execute(sa.text("ALTER TABLE documents DROP COLUMN revocation_category"))
        conn.execute(sa.text("UPDATE storage_alembic_version SET version_num = '0002'"))
    home.registry().close()


def test_an_older_home_keeps_every_documents_status_after_the_upgrade(home, make_home):
    revoked_record, revoked_pdf = issue(home, level="B-LT")
    home.issuer().revoke(revoked_record.id, reason="issued in error")
    issued_record, issued_pdf = issue(home)
    _as_before_bindings(home)

    reopened = Home.open(home.settings)  # opens the registry: migrates to 0003 and backfills
    registry = reopened.registry()
    assert registry.unbound_versions() == []
    verifier = Verifier.for_home(reopened)
    # the seal binding alone (the registered file is not a prefix of this one)
    (seal,) = [r for r in signed_revisions(revoked_pdf) if r.kind == "signature"]
    cut = UPDATES["new-info-object"](revoked_pdf[: seal.end])
    report = verifier.verify(cut)
    assert report.verdict == "invalid" and report.registry.status == "revoked"
    assert report.registry.document_id == revoked_record.id
    for update in UPDATES.values():
        assert verifier.verify(update(revoked_pdf)).registry.status == "revoked"
        assert verifier.verify(update(issued_pdf)).registry.document_id == issued_record.id
    assert verifier.verify(issued_pdf).verdict == "valid"


def test_cli_verify_of_a_revoked_document_with_an_update_says_revoked(home, revoked, run_edoc, tmp_path):
    record, pdf = revoked
    path = tmp_path / "changed.pdf"
    path.write_bytes(UPDATES["remove-keywords"](pdf))
    code, out, err = run_edoc(home, "verify", str(path))
    assert code == 1 and "Traceback" not in err
    assert f"{path}: INVALID" in out
    assert "The issuing agency revoked this document" in out and NOT_EXACT in out
    code, out, _ = run_edoc(home, "verify", "--json", str(path))
    report = json.loads(out)
    assert report["verdict"] == "invalid" and report["registry"]["status"] == "revoked"


def test_a_seal_binds_to_one_document_only(home):
    from storage.errors import Conflict
    from storage.registry import SealBinding

    first, pdf = issue(home)
    second, _ = issue(home)
    registry = home.registry()
    (seal,) = signed_revisions(pdf)
    again = SealBinding(seal.signed_sha256, "signature", seal.field_name)
    assert registry.bind_seals(first.id, 1, (again,)) == 0  # already there: kept as it was
    with pytest.raises(Conflict):
        registry.bind_seals(second.id, 1, (again,))
