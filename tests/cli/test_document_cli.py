"""Documents from the command line: issue, templates, revoke, and every refusal writes nothing."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from edoc.cli import main
from edoc.templates import BUILTIN_DIR


@pytest.fixture
def example(home):
    return copy.deepcopy(dict(home.templates().get("certificate").examples["th"]))


def write(tmp_path, data) -> str:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def nothing_written(home) -> None:
    assert home.registry().count() == 0
    assert list(home.store().iter_keys()) == []


def test_issue_prints_id_and_verification_url_then_verify_and_revoke(cli, home, tmp_path, example):
    out_pdf = tmp_path / "cert.pdf"
    code, out, _ = cli("issue", "certificate", "--data", write(tmp_path, example), "--out", str(out_pdf))
    assert code == 0
    doc_id = out.split("id: ", 1)[1].split()[0]
    assert f"verify: {home.settings.public_base_url}/verify/{doc_id}" in out
    code, out, _ = cli("verify", str(out_pdf))
    assert code == 0 and "on record" in out
    code, out, _ = cli("revoke", doc_id, "--reason", "holder asked for a correction",
                       "--category", "holder-request")
    assert code == 0 and "citizens see: revoked at the holder's request" in out
    code, out, _ = cli("verify", "--json", str(out_pdf))
    report = json.loads(out)
    assert code == 1
    assert report["verdict"] == "invalid"
    assert report["registry"]["status"] == "revoked"
    # the verdict carries the category, never the officer's own words
    assert report["registry"]["revocation_reason"] == "revoked at the holder's request"
    assert "correction" not in out


def test_issue_example_and_show(cli):
    code, out, _ = cli("issue", "letter", "--example", "--lang", "en")
    assert code == 0
    doc_id = out.split("id: ", 1)[1].split()[0]
    code, out, _ = cli("show", doc_id, "--json")
    record = json.loads(out)
    assert record["template"] == "letter" and record["lang"] == "en"


def test_templates_list_and_show(cli):
    code, out, _ = cli("templates")
    assert code == 0 and {"certificate", "letter", "record"} <= {line.split()[0] for line in out.splitlines()}
    code, out, _ = cli("templates", "show", "certificate")
    assert code == 0
    assert "holder.national_id" in out and "thai-id" in out
    assert "นางสาวปิยะนุช" in out  # the Thai example


def test_agency_template_in_the_home_is_listed_and_issued(cli, home):
    own = home.settings.templates_dir / "training"
    shutil.copytree(BUILTIN_DIR / "certificate", own)
    spec = json.loads((own / "template.json").read_text(encoding="utf-8"))
    spec["name"] = "training"
    spec["title"] = {"th": "วุฒิบัตรการฝึกอบรม", "en": "Training certificate"}
    (own / "template.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    assert "training" in cli("templates")[1]
    code, out, _ = cli("issue", "training", "--example")
    assert code == 0, out


@pytest.mark.parametrize(
    "change,field",
    [
        (lambda d: d.pop("holder"), "holder"),
        (lambda d: d["holder"].update(national_id="1234567890122"), "holder.national_id"),
        (lambda d: d.update(completed_on="25/11/2569"), "completed_on"),
        (lambda d: d.update(unexpected="x"), "unexpected"),
    ],
    ids=["missing-holder", "bad-thai-id-check-digit", "bad-date", "unknown-field"],
)
def test_bad_data_names_the_field_exits_1_and_writes_nothing(cli, home, tmp_path, example, change, field):
    change(example)
    code, _, err = cli("issue", "certificate", "--data", write(tmp_path, example))
    assert code == 1
    assert field in err and "Traceback" not in err
    nothing_written(home)


def test_text_that_does_not_fit_names_the_field_and_writes_nothing(cli, home, tmp_path, example):
    example["signer"]["position"] = "ผู้อำนวยการ" * 18  # within the schema's length, too long for its box
    code, _, err = cli("issue", "certificate", "--data", write(tmp_path, example))
    assert code == 1 and "signer.position" in err
    nothing_written(home)


def test_unknown_template_lists_the_available_ones(cli, home, tmp_path, example):
    code, _, err = cli("issue", "diploma", "--data", write(tmp_path, example))
    assert code == 1 and "certificate" in err
    nothing_written(home)


def test_missing_emblem_file_is_a_clear_error(make_home, tmp_path, capsys, example):
    home = make_home(emblem=str(tmp_path / "garuda.png"))
    code = main(["--home", str(home.path), "issue", "certificate", "--data", write(tmp_path, example)])
    assert code == 1
    assert "garuda.png" in capsys.readouterr().err
    nothing_written(home)


def test_data_file_that_is_not_json_is_refused(cli, home, tmp_path):
    bad = tmp_path / "data.json"
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = cli("issue", "certificate", "--data", str(bad))
    assert code == 1 and "not valid JSON" in err
    nothing_written(home)
