"""Four `edoc serve` processes on one PostgreSQL and one S3 bucket, all at once.

Issues, idempotent retries (the same key sent to different processes at the
same moment) and revocations race each other; in the end every document is
present exactly once with its object, every revocation is recorded, and the
audit chain is intact. No in-process lock can help here: only the database's
constraints and transactions do.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest

from storage.maintenance import doctor
from tests.api.test_serve import serving

pytestmark = pytest.mark.postgres

PROCESSES = 4
DOCUMENTS = 24


@pytest.fixture
def shared_home(make_home, postgres_url, s3_config, monkeypatch):
    home = make_home(
        database_url=postgres_url,
        storage_backend="s3",
        s3_endpoint=s3_config.endpoint,
        s3_access_key=s3_config.access_key,
        s3_secret_key=s3_config.secret_key,
        s3_bucket=s3_config.bucket,
        s3_secure=False,
        retention_mode="COMPLIANCE",
        retention_days=1,
        agency_id="serve-agency",
    )
    # the servers read secrets from their environment, never from edoc.toml
    monkeypatch.setenv("EDOC_S3_SECRET_KEY", s3_config.secret_key)
    return home


def test_four_servers_issue_retry_and_revoke_without_duplicates(shared_home, monkeypatch):
    import tests.api.test_serve as serve_mod

    home = shared_home
    _, secret = home.registry().create_api_key(agency="serve-agency", roles={"issuer"}, label="load")
    base_env = serve_mod._env

    def env(path, passphrase=serve_mod.PASSPHRASE, **_):
        values = base_env(path, home.settings.passphrase().decode())
        values["EDOC_S3_SECRET_KEY"] = home.settings.s3_secret_key.get_secret_value()
        # four processes behind one proxy: the public URL is the proxy's, not any one port
        values["EDOC_PUBLIC_BASE_URL"] = "https://edoc.serve-agency.example"
        return values

    monkeypatch.setattr(serve_mod, "_env", env)
    data = home.templates().get("certificate").examples["th"]
    headers = {"Authorization": f"Bearer {secret}"}

    with ExitStack() as stack:
        servers = [stack.enter_context(serving(home.path)) for _ in range(PROCESSES)]
        for served in servers:
            served.wait_healthy(timeout=120)
        urls = [s.url for s in servers]

        def issue(job: tuple[int, int]) -> tuple[int, str, int]:
            n, attempt = job
            url = urls[(n + attempt) % PROCESSES]  # the retry goes to another process
            r = httpx.post(
                f"{url}/v1/documents",
                json={"template": "certificate", "data": data, "lang": "th"},
                headers={**headers, "Idempotency-Key": f"exam-{n}"},
                timeout=120,
            )
            assert r.status_code in (200, 201), r.text
            return n, r.json()["id"], r.status_code

        jobs = [(n, attempt) for n in range(DOCUMENTS) for attempt in range(2)]
        random.Random(7).shuffle(jobs)
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(issue, jobs))

        ids_by_key: dict[int, set[str]] = {}
        for n, doc_id, _status in results:
            ids_by_key.setdefault(n, set()).add(doc_id)
        assert all(len(ids) == 1 for ids in ids_by_key.values()), ids_by_key
        ids = [next(iter(ids_by_key[n])) for n in range(DOCUMENTS)]
        assert sum(1 for *_, status in results if status == 201) == DOCUMENTS

        to_revoke = ids[: DOCUMENTS // 2]

        def revoke(job: tuple[str, int]) -> int:
            doc_id, i = job
            r = httpx.post(
                f"{urls[i % PROCESSES]}/v1/documents/{doc_id}/revoke",
                json={"reason": f"withdrawn by request {i}"},
                headers=headers,
                timeout=60,
            )
            return r.status_code

        revocations = [(doc_id, i) for i, doc_id in enumerate(to_revoke * 2)]
        random.Random(11).shuffle(revocations)
        with ThreadPoolExecutor(max_workers=16) as pool:
            assert set(pool.map(revoke, revocations)) == {200}

        # every process sees the same registry
        for i, doc_id in enumerate(ids):
            r = httpx.get(f"{urls[i % PROCESSES]}/v1/verify/{doc_id}", timeout=30)
            assert r.status_code == 200
            assert r.json()["status"] == ("revoked" if doc_id in to_revoke else "issued")

    registry = home.registry()
    assert registry.count() == DOCUMENTS
    assert registry.count(status="revoked") == len(to_revoke)
    events = registry.audit.entries(limit=10_000)
    assert sum(e.event == "document.issued" for e in events) == DOCUMENTS
    assert sorted(e.subject for e in events if e.event == "document.revoked") == sorted(to_revoke)
    assert registry.audit.verify().ok
    report = doctor(home.store(), registry)
    assert not report.missing and not report.corrupt, report
    # concurrent retries waited for the first issuance instead of sealing a copy
    assert not report.orphans, report.orphans
    for doc_id in ids:
        record = registry.get(doc_id)
        assert home.store().get(record.sha256)[:5] == b"%PDF-"
