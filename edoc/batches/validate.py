"""From a spreadsheet row to a template's data, and every problem with it in Thai and English.

Columns name template fields in dot notation (``holder.name``, ``course.title``,
``items.0.code`` or ``items[0].code`` for lists). Cells are converted by the field's
JSON Schema type; dates accept ISO (``2026-11-25``) and the Thai way,
``dd/mm/yyyy`` with a Buddhist-Era year (``25/11/2569``; a year below 2400 is read as
Common Era), Thai digits too. An empty cell leaves the field out.

>>> rows = RowConverter(template, key_column="exam_id")                 # doctest: +SKIP
>>> data, key, problems = rows.convert(2, {"holder.name": "...", ...})  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .. import templates as _templates
from ..templates import Template

__all__ = ["Problem", "RowConverter", "csv_header", "example_row"]

_INDEX = re.compile(r"\[(\d+)\]")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_KEY = re.compile(r"[\x21-\x7e]{1,200}")
BE_FROM = 2400  # a year from here on is Buddhist Era (2400 BE = 1857 CE)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a row (or the file: ``row`` 1 is the header)."""

    row: int
    column: str
    en: str
    th: str

    def message(self, lang: str = "th") -> str:
        return self.th if lang == "th" else self.en

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "en": self.en, "th": self.th}


def _parts(column: str) -> list[str | int]:
    out: list[str | int] = []
    for part in _INDEX.sub(r".\1", column).split("."):
        out.append(int(part) if part.isdigit() else part)
    return out


def _schema_at(schema: Mapping[str, Any], parts: list[str | int]) -> Mapping[str, Any] | None:
    node: Mapping[str, Any] | None = schema
    for p in parts:
        if node is None:
            return None
        if isinstance(p, int):
            items = node.get("items")
            node = items if node.get("type") == "array" and isinstance(items, dict) else None
        else:
            props = node.get("properties")
            node = props.get(p) if node.get("type") == "object" and isinstance(props, dict) else None
    return node


def _date(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().translate(_THAI_DIGITS)
    m = _DMY.fullmatch(text)
    if m:
        d, mth, y = (int(g) for g in m.groups())
    else:
        m = _YMD.fullmatch(text)
        if not m:
            return value  # the schema's date check names the problem
        y, mth, d = (int(g) for g in m.groups())
    if y >= BE_FROM:
        y -= 543
    try:
        return date(y, mth, d).isoformat()
    except ValueError:
        return value


def _typed(value: Any, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if schema.get("format") == "date":
        return _date(value)
    if isinstance(value, str):
        text = value.strip()
        if kind == "integer" and re.fullmatch(r"[+-]?\d+", text.translate(_THAI_DIGITS)):
            return int(text.translate(_THAI_DIGITS))
        if kind == "number":
            try:
                return float(text.translate(_THAI_DIGITS).replace(",", ""))
            except ValueError:
                return value
        if kind == "boolean" and text.lower() in ("true", "false", "yes", "no", "1", "0", "ใช่", "ไม่ใช่"):
            return text.lower() in ("true", "yes", "1", "ใช่")
        return text
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def _put(data: dict[str, Any], parts: list[str | int], value: Any) -> bool:
    node: Any = data
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        nxt: Any = None if last else ([] if isinstance(parts[i + 1], int) else {})
        if isinstance(p, int):
            if not isinstance(node, list):
                return False
            while len(node) <= p:
                node.append(None)
            if last:
                node[p] = value
            else:
                if node[p] is None:
                    node[p] = nxt
                node = node[p]
        else:
            if not isinstance(node, dict):
                return False
            if last:
                node[p] = value
            else:
                node = node.setdefault(p, nxt)
    return True


_TH_TYPES = {"string": "ข้อความ", "integer": "จำนวนเต็ม", "number": "ตัวเลข",
             "boolean": "ใช่/ไม่ใช่", "object": "กลุ่มข้อมูล", "array": "รายการ"}


def _thai(error, field: str, english: str) -> str:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        return "ต้องกรอก แต่ไม่มีข้อมูล"
    if kind == "additionalProperties":
        return "ไม่ใช่ช่องข้อมูลของแบบเอกสารนี้ (ตรวจการสะกดชื่อคอลัมน์)"
    if kind == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        return "ต้องเป็น" + " หรือ ".join(_TH_TYPES.get(str(t), str(t)) for t in wanted)
    if kind == "format" and expected == "date":
        return "ต้องเป็นวันที่ เช่น 2026-11-25 หรือ 25/11/2569 (พ.ศ.)"
    if kind == "format" and expected == "thai-id":
        return "เลขประจำตัวประชาชนไม่ถูกต้อง (ต้องเป็นตัวเลข 13 หลักและเลขตรวจสอบถูกต้อง)"
    if kind == "enum":
        return "ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: " + ", ".join(map(str, expected))
    if kind == "minLength":
        return "ต้องไม่เว้นว่าง" if expected == 1 else f"ต้องมีอย่างน้อย {expected} ตัวอักษร"
    if kind == "maxLength":
        return f"ยาวได้ไม่เกิน {expected} ตัวอักษร (มี {len(value)})"
    if kind == "pattern":
        return "รูปแบบไม่ถูกต้อง"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"ต้องไม่น้อยกว่า {expected}" if kind == "minimum" else f"ต้องมากกว่า {expected}"
    if kind in ("maximum", "exclusiveMaximum"):
        return f"ต้องไม่มากกว่า {expected}" if kind == "maximum" else f"ต้องน้อยกว่า {expected}"
    if kind in ("minItems", "maxItems"):
        return f"ต้องมีอย่างน้อย {expected} รายการ" if kind == "minItems" else f"มีได้ไม่เกิน {expected} รายการ"
    return english


class RowConverter:
    """Turns rows of one file into a template's data, collecting every problem."""

    def __init__(self, template: Template, *, key_column: str | None = None):
        self.template = template
        self.key_column = key_column
        self._validator = template._validator  # the template's own schema checker

    def check_header(self, header: list[str] | None) -> list[Problem]:
        """Problems with the columns themselves (row 1)."""
        if header is None:
            if self.key_column is not None and "." in self.key_column:
                return [Problem(1, self.key_column, "a JSONL key must be a top-level member",
                                "คีย์ของ JSONL ต้องเป็นสมาชิกชั้นบนสุด")]
            return []
        problems: list[Problem] = []
        seen: set[str] = set()
        for name in header:
            if not name:
                continue
            if name in seen:
                problems.append(Problem(1, name, "this column appears twice", "คอลัมน์นี้ซ้ำกัน"))
            seen.add(name)
            if name == self.key_column:
                continue
            if _schema_at(self.template.schema, _parts(name)) is None:
                problems.append(Problem(
                    1, name, f"is not a field of template {self.template.name!r} (check the spelling)",
                    f"ไม่ใช่ช่องข้อมูลของแบบเอกสาร {self.template.name!r} (ตรวจการสะกด)",
                ))
        if self.key_column is not None and self.key_column not in seen:
            problems.append(Problem(1, self.key_column, "the key column is not in the file",
                                    "ไม่พบคอลัมน์คีย์ในไฟล์"))
        return problems

    def convert(self, row: int, record: dict[str, Any]) -> tuple[dict[str, Any], str | None, list[Problem]]:
        """The row's data, its key (None when derived), and its problems."""
        problems: list[Problem] = []
        if "\0error" in record:
            return {}, None, [Problem(row, "", str(record["\0error"]), "ไม่ใช่ออบเจกต์ JSON")]
        if "" in record:
            problems.append(Problem(row, "", "a cell has no column name above it",
                                    "มีข้อมูลในช่องที่ไม่มีชื่อคอลัมน์"))
        key: str | None = None
        if self.key_column is not None:
            raw = record.get(self.key_column)
            key = None if raw is None else str(raw).strip()
            if not key:
                problems.append(Problem(row, self.key_column, "the key is empty", "คีย์ว่าง"))
            elif not _KEY.fullmatch(key):
                problems.append(Problem(
                    row, self.key_column,
                    "a key is 1 to 200 printable ASCII characters without spaces",
                    "คีย์ต้องเป็นอักขระ ASCII ที่พิมพ์ได้ 1 ถึง 200 ตัว ไม่มีช่องว่าง"))
                key = None
        data: dict[str, Any]
        if all("." not in k and "[" not in k for k in record) and any(
            isinstance(v, dict | list) for v in record.values()
        ):
            data = {k: v for k, v in record.items() if k != self.key_column or self._is_field(k)}
            data = self._typed_tree(data, [])
        else:
            data = {}
            for column, value in record.items():
                if not column or (column == self.key_column and not self._is_field(column)):
                    continue
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue  # an empty cell: the field is left out
                parts = _parts(column)
                schema = _schema_at(self.template.schema, parts)
                if schema is None:
                    continue  # reported once, for the header
                if not _put(data, parts, _typed(value, schema)):
                    problems.append(Problem(row, column, "clashes with another column",
                                            "ขัดกับคอลัมน์อื่น"))
        problems.extend(self.problems(row, data))
        return data, key, problems

    def _is_field(self, column: str) -> bool:
        return _schema_at(self.template.schema, _parts(column)) is not None

    def _typed_tree(self, value: Any, path: list[str | int]) -> Any:
        if isinstance(value, dict):
            return {k: self._typed_tree(v, [*path, k]) for k, v in value.items()}
        if isinstance(value, list):
            return [self._typed_tree(v, [*path, i]) for i, v in enumerate(value)]
        schema = _schema_at(self.template.schema, path)
        return _typed(value, schema) if schema is not None and path else value

    def problems(self, row: int, data: Any) -> list[Problem]:
        """Every schema violation of ``data``, in English and Thai."""
        found: dict[tuple[str, str], Problem] = {}
        for error in self._validator.iter_errors(data):
            for fe in _templates._describe(error):
                column = "" if fe.field == "(document)" else fe.field
                found.setdefault((column, fe.message),
                                 Problem(row, column, fe.message, _thai(error, fe.field, fe.message)))
        return sorted(found.values(), key=lambda p: (p.column, p.en))


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}.{i}", out)
    else:
        out[prefix] = value


def csv_header(template: Template) -> list[str]:
    """Every column a spreadsheet for ``template`` can have (list fields: one item)."""
    cols = []
    for f in template.fields():
        if f.type.startswith(("object", "array")):
            continue
        cols.append(f.path.replace("[]", ".0"))
    return cols


def example_row(template: Template, lang: str) -> dict[str, Any]:
    """The template's example as one flat row (dates as ISO)."""
    out: dict[str, Any] = {}
    _flatten(template.examples.get(lang, {}), "", out)
    return out
