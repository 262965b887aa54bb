"""``/v1/batches`` on the app with its embedded pool: submit, follow, results, ZIP, cancel, scope."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile

import pytest

from api.routes.batches import close_batches

from .conftest import cert_rows, write_csv


@pytest.fixture
def api_settings():
    return {"batch_workers": 1, "batch_chunk_rows": 2}


@pytest.fixture
def batch_client(client):
    yield client
    close_batches(client.app)


def _submit(client, cred, path, **fields):
    with path.open("rb") as fh:
        return client.post("/v1/batches", headers=cred.headers, files={"file": (path.name, fh)},
                           data={"template": "certificate", "key_column": "exam_id", **fields})


def _wait(client, cred, batch_id, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/batches/{batch_id}", headers=cred.headers).json()
        if body["state"] not in ("queued", "running"):
            return body
        time.sleep(0.3)
    raise AssertionError("batch did not end")


def test_submit_follow_results_and_documents(batch_client, keys, tmp_path):
    rows = cert_rows(5)
    rows[4][1] = "=HYPERLINK(\"http://evil\")"  # a name an attacker typed
    rows[2][2] = "1111111111111"
    path = write_csv(tmp_path / "cohort.csv", rows, encoding="cp874")
    r = _submit(batch_client, keys.issuer, path)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["total"] == 5 and body["invalid"] == 1 and body["state"] in ("queued", "running")
    assert not list((tmp_path.parent).glob("**/batch-uploads/upload-*"))  # the upload is gone
    done = _wait(batch_client, keys.issuer, body["id"])
    assert (done["state"], done["issued"], done["failed"], done["eta_seconds"]) == ("done", 4, 0, 0.0)

    res = batch_client.get(f"/v1/batches/{body['id']}/results", headers=keys.auditor.headers)
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert list(table[0]) == ["row", "key", "document_id", "number", "verify_url", "sha256", "error"]
    assert [t["row"] for t in table] == ["2", "3", "4", "5", "6"]
    assert table[2]["document_id"] == "" and "เลขประจำตัวประชาชน" in table[2]["error"]
    en = batch_client.get(f"/v1/batches/{body['id']}/results?format=jsonl",
                          headers={**keys.issuer.headers, "Accept-Language": "en"})
    lines = [json.loads(x) for x in en.text.splitlines()]
    assert "Thai national ID" in lines[2]["error"] and lines[0]["state"] == "issued"

    z = batch_client.get(f"/v1/batches/{body['id']}/documents.zip", headers=keys.issuer.headers)
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(z.content))
    names = archive.namelist()
    assert len(names) == 4 and all(n.endswith(".pdf") for n in names)
    import hashlib

    by_id = {t["document_id"]: t["sha256"] for t in table if t["document_id"]}
    for name in names:
        doc_id = name.split("-", 1)[1][:-4]
        assert hashlib.sha256(archive.read(name)).hexdigest() == by_id[doc_id]

    page = batch_client.get("/v1/batches?limit=10", headers=keys.auditor.headers).json()
    assert [b["id"] for b in page["items"]] == [body["id"]] and page["next_after"] is None


def test_dry_run_over_http(batch_client, keys, tmp_path):
    rows = cert_rows(3)
    rows[1][5] = "tomorrow"
    r = _submit(batch_client, keys.issuer, write_csv(tmp_path / "c.csv", rows), dry_run="true")
    assert r.status_code == 200
    body = r.json()
    assert (body["total"], body["valid"]) == (3, 2)
    assert body["problems"] == [{"row": 3, "column": "completed_on",
                                 "en": body["problems"][0]["en"],
                                 "th": "ต้องเป็นวันที่ เช่น 2026-11-25 หรือ 25/11/2569 (พ.ศ.)"}]
    assert batch_client.get("/v1/batches", headers=keys.issuer.headers).json()["items"] == []


def test_scope_roles_and_bad_input(batch_client, keys, tmp_path):
    path = write_csv(tmp_path / "c.csv", cert_rows(2))
    assert _submit(batch_client, keys.auditor, path).status_code == 403
    assert _submit(batch_client, keys.other_issuer, path).status_code == 403
    body = _submit(batch_client, keys.issuer, path).json()
    for cred in (keys.other_issuer, keys.other_auditor):
        for url in (f"/v1/batches/{body['id']}", f"/v1/batches/{body['id']}/results",
                    f"/v1/batches/{body['id']}/documents.zip"):
            r = batch_client.get(url, headers=cred.headers)
            assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        assert batch_client.post(f"/v1/batches/{body['id']}/cancel", headers=cred.headers).status_code in (403, 404)
    assert batch_client.get("/v1/batches/nosuchbatch", headers=keys.issuer.headers).status_code == 404
    bad = write_csv(tmp_path / "bad.csv", cert_rows(1), header=["exam_id", "holder.nmae", *[""] * 6])
    r = _submit(batch_client, keys.issuer, bad)
    assert r.status_code == 422 and "holder.nmae" in r.text
    (tmp_path / "x.txt").write_text("a,b\n")
    r = _submit(batch_client, keys.issuer, tmp_path / "x.txt")
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    (tmp_path / "z.xlsx").write_bytes(b"PK\x03\x04 broken")
    r = _submit(batch_client, keys.issuer, tmp_path / "z.xlsx")
    assert r.status_code == 422 and "XLSX" in r.text
    _wait(batch_client, keys.issuer, body["id"])


def test_cancel(batch_client, keys, tmp_path):
    body = _submit(batch_client, keys.issuer, write_csv(tmp_path / "c.csv", cert_rows(30))).json()
    r = batch_client.post(f"/v1/batches/{body['id']}/cancel", headers=keys.issuer.headers)
    assert r.status_code == 200
    after = r.json()
    assert after["state"] == "cancelled" and after["queued"] == 0
    assert after["issued"] + after["cancelled"] == 30
    time.sleep(1)
    final = batch_client.get(f"/v1/batches/{body['id']}", headers=keys.issuer.headers).json()
    # at most the range in flight when cancelled (2 rows here) is recorded after the cancel
    assert final["issued"] <= after["issued"] + 2 and final["issued"] + final["cancelled"] == 30


def test_cli_against_a_server(app, live_server, keys, tmp_path):
    """``edoc batch submit --url --api-key`` and ``results`` over HTTP, against a real uvicorn."""
    import os
    import subprocess
    import sys

    def edoc(*args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
        return subprocess.run([sys.executable, "-m", "edoc", *args, "--url", live_server,
                               "--api-key", keys.issuer.secret], capture_output=True, text=True,
                              timeout=300, env=env)

    try:
        path = write_csv(tmp_path / "c.csv", cert_rows(3), encoding="cp874")
        dry = edoc("batch", "submit", str(path), "--template", "certificate", "--key-column", "exam_id",
                   "--dry-run")
        assert dry.returncode == 0 and "3 rows: 3 valid" in dry.stdout, dry.stdout + dry.stderr
        run = edoc("batch", "submit", str(path), "--template", "certificate", "--key-column", "exam_id",
                   "--wait", "--json")
        assert run.returncode == 0, run.stdout + run.stderr
        batch = json.loads(run.stdout)
        assert (batch["state"], batch["issued"]) == ("done", 3)
        out = edoc("batch", "results", batch["id"], "--out", str(tmp_path / "r.csv"),
                   "--pdfs", str(tmp_path / "d.zip"))
        assert out.returncode == 0, out.stderr
        assert len(zipfile.ZipFile(tmp_path / "d.zip").namelist()) == 3
        assert (tmp_path / "r.csv").read_text("utf-8-sig").startswith("row,key,document_id")
        bad = edoc("batch", "status", "aaaaaaaaaaaaaaaa")
        assert bad.returncode == 1 and "404" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        close_batches(app)
