"""The command line end to end: a Thai CSV saved by Excel (Windows-874) becomes sealed PDFs
that pdfsig (poppler/NSS) reports valid and trusted."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile

from tests.fixtures.pki import PASSPHRASE
from tests.tools import nss_db, pdfsig

from .conftest import HEADER, cert_rows, write_csv


def _edoc(home, *args, timeout=300):
    env = {**os.environ, "EDOC_HOME": str(home.path), "EDOC_KEY_PASSPHRASE": PASSPHRASE,
           "EDOC_BATCH_WORKERS": "2"}
    env.pop("EDOC_BROKER_URL", None)
    return subprocess.run([sys.executable, "-m", "edoc", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_templates_show_csv_starts_a_spreadsheet(home, run_edoc):
    code, out, _err = run_edoc(home, "templates", "show", "certificate", "--csv")
    assert code == 0
    header, example = list(csv.reader(io.StringIO(out)))
    assert {"holder.name", "course.title", "completed_on", "signer.position"} <= set(header)
    assert dict(zip(header, example, strict=True))["holder.name"] == "นางสาวปิยะนุช ศรีสุข"


def test_thai_windows_874_csv_through_the_cli(home, tmp_path, pki_responder):
    pki_responder.serve(home)
    rows = cert_rows(8)
    rows[3][2] = "1234567890123"  # a mistyped national id
    path = write_csv(tmp_path / "รุ่น2569.csv", rows, encoding="cp874")
    assert path.read_bytes().decode("cp874")  # really Windows-874, not UTF-8
    dry = _edoc(home, "batch", "submit", str(path), "--template", "certificate",
                "--key-column", "exam_id", "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert "row 5, holder.national_id: เลขประจำตัวประชาชนไม่ถูกต้อง" in dry.stdout
    assert "8 rows: 7 valid, 1 with problems (dry run: nothing issued)" in dry.stdout

    run = _edoc(home, "batch", "submit", str(path), "--template", "certificate",
                "--key-column", "exam_id", "--wait", "--json")
    assert run.returncode == 1, run.stderr  # one row was bad
    batch = json.loads(run.stdout)
    assert (batch["state"], batch["total"], batch["issued"], batch["invalid"]) == ("done", 8, 7, 1)
    assert "docs/s" in run.stderr  # plain progress lines (stderr is not a terminal)

    status = _edoc(home, "batch", "status", batch["id"], "--json")
    assert json.loads(status.stdout)["issued"] == 7
    out = _edoc(home, "batch", "results", batch["id"], "--out", str(tmp_path / "results.csv"),
                "--pdfs", str(tmp_path / "documents.zip"))
    assert out.returncode == 0, out.stderr
    table = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text("utf-8-sig"))))
    assert len(table) == 8 and table[3]["error"] and not table[3]["document_id"]
    with zipfile.ZipFile(tmp_path / "documents.zip") as z:
        names = sorted(z.namelist())
        assert len(names) == 7
        nss = nss_db(tmp_path / "nss", list(home.pki.trust_anchors))
        for name in (names[0], names[-1]):  # a sample
            pdf = tmp_path / name
            pdf.write_bytes(z.read(name))
            report = pdfsig(pdf, nss)
            assert "Signature is Valid." in report and "Certificate is Trusted." in report, report

    # the same file again: nothing new is issued, the same documents come back
    again = _edoc(home, "batch", "submit", str(path), "--template", "certificate",
                  "--key-column", "exam_id", "--json")
    second = json.loads(again.stdout)
    res2 = _edoc(home, "batch", "results", second["id"])
    first_ids = [t["document_id"] for t in table]
    assert [t["document_id"] for t in csv.DictReader(io.StringIO(res2.stdout))] == first_ids
    assert len(home.registry().list_documents(agency="test-agency", limit=100)) == 7
    assert HEADER[0] == "exam_id"
