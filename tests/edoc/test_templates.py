"""Templates are data: loading, overriding, listing fields, and validation errors that name fields."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from edoc.errors import DataInvalid, NotFound, TemplateInvalid
from edoc.templates import BUILTIN_DIR, TemplateLibrary


def _errors(template, data) -> dict[str, str]:
    with pytest.raises(DataInvalid) as caught:
        template.validate(data)
    return {e.field: e.message for e in caught.value.errors}


def test_builtin_templates_are_available(library):
    assert {"certificate", "letter", "record"} <= set(library.names())


def test_unknown_template_lists_the_available_ones(library):
    with pytest.raises(NotFound) as caught:
        library.get("diploma")
    assert "diploma" in str(caught.value)
    assert "certificate, letter, record" in caught.value.diagnostics()


@pytest.mark.parametrize("name", ["certificate", "letter", "record"])
def test_builtin_examples_in_thai_and_english_are_valid(library, name):
    template = library.get(name)
    assert set(template.examples) == {"th", "en"}
    assert set(template.languages) == {"th", "en"}
    for data in template.examples.values():
        template.validate(data)


def test_every_invalid_field_is_reported_by_its_dotted_path(library):
    template = library.get("certificate")
    data = copy.deepcopy(template.examples["th"])
    del data["holder"]["name"]
    data["holder"]["national_id"] = "1234567890122"
    data["completed_on"] = "25/11/2026"
    data["signer"]["position"] = 7
    data["colour"] = "gold"
    errors = _errors(template, data)
    assert errors == {
        "holder.name": "is required but missing",
        "holder.national_id": errors["holder.national_id"],
        "completed_on": "must be a date written YYYY-MM-DD (Common Era year), e.g. 2026-11-25",
        "signer.position": "must be a string, not a whole number",
        "colour": "is not a field of this template (check the spelling)",
    }
    assert "not a valid Thai national ID" in errors["holder.national_id"]
    assert "should be 1" in errors["holder.national_id"]


def test_errors_inside_table_rows_name_the_row(library):
    template = library.get("record")
    data = copy.deepcopy(template.examples["en"])
    data["items"][2]["credits"] = "three"
    del data["items"][5]["code"]
    errors = _errors(template, data)
    assert errors == {
        "items.2.credits": "must be a number, not a string",
        "items.5.code": "is required but missing",
    }


def test_impossible_date_is_named(library):
    template = library.get("letter")
    data = dict(template.examples["th"], date="2026-02-30")
    assert _errors(template, data) == {"date": "2026-02-30 is not a day of the calendar"}


def test_data_invalid_diagnostics_list_each_field(library):
    template = library.get("letter")
    with pytest.raises(DataInvalid) as caught:
        template.validate({"lang": "th"})
    text = caught.value.diagnostics()
    for name in ("reference_no", "date", "subject", "recipient", "body", "signer"):
        assert f"  - {name}: is required but missing" in text


def test_fields_list_paths_types_and_required(library):
    fields = {f.path: f for f in library.get("record").fields()}
    assert fields["holder.national_id"].type == "string (thai-id)"
    assert fields["holder.national_id"].required is False
    assert fields["holder.name"].required is True
    assert fields["items[].credits"].type == "number"
    assert fields["certified_on"].type == "string (date)"
    assert fields["certified_on"].description


def test_agency_templates_override_and_add(tmp_path):
    home = tmp_path / "templates"
    shutil.copytree(BUILTIN_DIR / "certificate", home / "certificate")
    spec = json.loads((home / "certificate" / "template.json").read_text())
    spec["title"]["th"] = "เกียรติบัตร"
    (home / "certificate" / "template.json").write_text(json.dumps(spec, ensure_ascii=False))
    shutil.copytree(BUILTIN_DIR / "certificate", home / "award")
    spec["name"] = "award"
    (home / "award" / "template.json").write_text(json.dumps(spec, ensure_ascii=False))

    library = TemplateLibrary.from_dirs(BUILTIN_DIR, home)

    assert library.names() == ["award", "certificate", "letter", "record"]
    assert library.get("certificate").title_in("th") == "เกียรติบัตร"
    assert library.get("certificate").path == home / "certificate"


def test_broken_template_json_names_the_file(tmp_path):
    shutil.copytree(BUILTIN_DIR / "letter", tmp_path / "letter")
    (tmp_path / "letter" / "template.json").write_text("{not json")
    with pytest.raises(TemplateInvalid, match=r"letter/template.json is not valid JSON"):
        TemplateLibrary.from_dirs(tmp_path)


def test_unknown_block_type_is_reported(tmp_path):
    shutil.copytree(BUILTIN_DIR / "letter", tmp_path / "letter")
    path = tmp_path / "letter" / "template.json"
    spec = json.loads(path.read_text())
    spec["blocks"].append({"type": "video"})
    path.write_text(json.dumps(spec))
    with pytest.raises(TemplateInvalid, match="'video'"):
        TemplateLibrary.from_dirs(tmp_path)
