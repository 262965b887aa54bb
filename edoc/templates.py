"""Document templates: folders of data (layout, JSON Schema, examples), never code.

A template is a folder ``NAME/`` with ``template.json`` (titles, page, styles,
layout blocks), ``schema.json`` (JSON Schema 2020-12 for the document data,
with the formats ``thai-id`` and ``date``) and ``examples/<lang>.json``.

>>> lib = TemplateLibrary.builtin()
>>> cert = lib.get("certificate")
>>> cert.validate(cert.examples["th"])  # raises DataInvalid listing every bad field
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

from .errors import DataInvalid, FieldError, NotFound, TemplateInvalid
from .thai import validate_thai_id

__all__ = ["BUILTIN_DIR", "FieldInfo", "Template", "TemplateLibrary"]

#: folder of the templates that ship with edoc
BUILTIN_DIR = Path(__file__).resolve().parent / "builtin_templates"

BLOCK_TYPES = frozenset({"text", "paragraphs", "table", "image", "qr", "stamp", "rect", "spacer"})

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("thai-id", raises=ValueError)
def _check_thai_id(value: object) -> bool:
    if isinstance(value, str):
        validate_thai_id(value)
    return True


@_FORMATS.checks("date", raises=ValueError)
def _check_date(value: object) -> bool:
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("must be a date written YYYY-MM-DD (Common Era year), e.g. 2026-11-25")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value} is not a day of the calendar") from None
    return True


@dataclass(frozen=True)
class FieldInfo:
    """One field a template's data can have, for ``edoc templates show``."""

    #: dotted path; ``[]`` marks the items of an array: ``items[].credits``
    path: str
    #: JSON type, with the format when there is one: ``string (thai-id)``
    type: str
    required: bool
    description: str


_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    for name, kind in (("number", float), ("string", str), ("array", list), ("object", dict)):
        if isinstance(value, kind):
            return name
    return "null"


def _dotted(parts) -> str:
    return ".".join(str(p) for p in parts) or "(document)"


def _describe(error: jsonschema.ValidationError) -> list[FieldError]:
    """Turn one jsonschema error into field errors a developer can act on."""
    path = list(error.absolute_path)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        return [
            FieldError(_dotted([*path, name]), "is required but missing")
            for name in expected
            if isinstance(value, dict) and name not in value
        ]
    if kind == "additionalProperties" and isinstance(value, dict):
        known = set(error.schema.get("properties", {}))
        pattern_keys = error.schema.get("patternProperties", {})
        return [
            FieldError(
                _dotted([*path, name]), "is not a field of this template (check the spelling)"
            )
            for name in value
            if name not in known and not any(re.search(p, name) for p in pattern_keys)
        ]
    where = _dotted(path)
    if kind == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        names = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in wanted)
        return [FieldError(where, f"must be {names}, not {_TYPE_NAMES[_json_type(value)]}")]
    if kind == "format":
        reason = str(error.cause) if error.cause else f"is not a valid {expected}"
        if expected == "thai-id" and error.cause:
            reason = f"is not a valid Thai national ID: {reason}"
        return [FieldError(where, reason)]
    if kind == "enum":
        return [FieldError(where, "must be one of: " + ", ".join(map(str, expected)))]
    if kind == "const":
        return [FieldError(where, f"must be {expected!r}")]
    if kind == "minLength":
        return [
            FieldError(
                where,
                "must not be empty"
                if expected == 1
                else f"must have at least {expected} characters",
            )
        ]
    if kind == "maxLength":
        return [FieldError(where, f"must have at most {expected} characters, not {len(value)}")]
    if kind == "pattern":
        return [FieldError(where, f"does not have the expected form (pattern {expected})")]
    if kind == "minItems":
        return [
            FieldError(where, f"must have at least {expected} item{'s' if expected != 1 else ''}")
        ]
    if kind == "maxItems":
        return [FieldError(where, f"must have at most {expected} items, not {len(value)}")]
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }
        return [FieldError(where, f"must be {words[kind]} {expected}, not {value}")]
    return [FieldError(where, error.message)]


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateInvalid(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TemplateInvalid(f"{path} is not valid JSON: {exc}") from None


def _localized(value: Any, where: str) -> Mapping[str, str]:
    if isinstance(value, str):
        return MappingProxyType({"*": value})
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return MappingProxyType(dict(value))
    raise TemplateInvalid(f"{where} must be a string or an object of language → string")


@dataclass(frozen=True)
class Template:
    """A loaded template: what its documents look like and what data they need."""

    name: str
    #: title per language code
    title: Mapping[str, str]
    #: description per language code
    description: Mapping[str, str]
    #: languages the template can render, the default first
    languages: tuple[str, ...]
    #: dotted path of the field holding the holder's name (masked in the public registry)
    holder_field: str
    #: page, styles and blocks, as in ``template.json``
    layout: Mapping[str, Any]
    #: JSON Schema (draft 2020-12) of the data
    schema: Mapping[str, Any]
    #: example data per language code
    examples: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: folder the template was loaded from, if any
    path: Path | None = None
    #: PAdES level its documents are sealed at (``B-LTA`` for long-lived records); None: the agency's
    level: str | None = None

    @classmethod
    def from_dir(cls, folder: Path) -> Template:
        """Load the template in ``folder`` (``template.json``, ``schema.json``, ``examples/``)."""
        folder = Path(folder)
        spec = _load_json(folder / "template.json")
        schema = _load_json(folder / "schema.json")
        if not isinstance(spec, dict):
            raise TemplateInvalid(f"{folder / 'template.json'} must hold a JSON object")
        examples = {}
        for example in sorted((folder / "examples").glob("*.json")):
            examples[example.stem] = _load_json(example)
        where = folder / "template.json"
        missing = [
            k for k in ("title", "languages", "holder_field", "page", "blocks") if k not in spec
        ]
        if missing:
            raise TemplateInvalid(f"{where} lacks {', '.join(missing)}")
        template = cls(
            name=spec.get("name", folder.name),
            title=_localized(spec["title"], f"{where}: title"),
            description=_localized(spec.get("description", ""), f"{where}: description"),
            languages=tuple(spec["languages"]),
            holder_field=spec["holder_field"],
            layout=MappingProxyType(
                {k: spec[k] for k in ("page", "styles", "blocks", "document_title") if k in spec}
            ),
            schema=MappingProxyType(schema),
            examples=MappingProxyType(examples),
            path=folder,
            level=spec.get("level"),
        )
        if template.level not in (None, "B-B", "B-T", "B-LT", "B-LTA"):
            raise TemplateInvalid(f"{where}: level must be one of B-B, B-T, B-LT, B-LTA")
        template._check(where)
        return template

    def _check(self, where: Path) -> None:
        try:
            Draft202012Validator.check_schema(dict(self.schema))
        except jsonschema.SchemaError as exc:
            raise TemplateInvalid(f"{where.with_name('schema.json')}: {exc.message}") from None
        styles = self.layout.get("styles", {})
        for i, block in enumerate(self.layout["blocks"]):
            kind = block.get("type")
            if kind not in BLOCK_TYPES:
                raise TemplateInvalid(
                    f"{where}: blocks[{i}] has type {kind!r}; use one of {', '.join(sorted(BLOCK_TYPES))}"
                )
            if kind == "image" and block.get("slot", "emblem") != "emblem":
                raise TemplateInvalid(
                    f"{where}: blocks[{i}] has image slot {block.get('slot')!r}; the only slot is 'emblem'"
                )
            for key in ("style", "header_style", "footer_style"):
                style = block.get(key)
                if isinstance(style, str) and style not in styles:
                    raise TemplateInvalid(
                        f"{where}: blocks[{i}] uses style {style!r}, which 'styles' does not define"
                    )
        if not any(f.path == self.holder_field for f in self.fields()):
            raise TemplateInvalid(
                f"{where}: holder_field {self.holder_field!r} is not a field of schema.json"
            )

    def title_in(self, lang: str) -> str:
        """The template's title in ``lang`` (or its default language)."""
        return self.title.get(lang) or self.title.get("*") or self.title[self.languages[0]]

    @cached_property
    def _validator(self) -> Draft202012Validator:
        return Draft202012Validator(dict(self.schema), format_checker=_FORMATS)

    def validate(self, data: Any) -> None:
        """Raise :class:`DataInvalid` listing every field of ``data`` that breaks the schema."""
        errors: dict[tuple[str, str], FieldError] = {}
        for error in self._validator.iter_errors(data):
            for fe in _describe(error):
                errors.setdefault((fe.field, fe.message), fe)
        if errors:
            raise DataInvalid(sorted(errors.values(), key=lambda e: (e.field, e.message)))

    def fields(self) -> list[FieldInfo]:
        """Every field of the data schema, depth first, with whether it is required."""
        out: list[FieldInfo] = []

        def walk(schema: Mapping[str, Any], prefix: str, required: bool) -> None:
            kind = schema.get("type", "any")
            if isinstance(kind, list):
                kind = " or ".join(kind)
            fmt = schema.get("format")
            if prefix:
                out.append(
                    FieldInfo(
                        prefix,
                        f"{kind} ({fmt})" if fmt else kind,
                        required,
                        schema.get("description", ""),
                    )
                )
            if kind == "object":
                needed = set(schema.get("required", []))
                for name, sub in schema.get("properties", {}).items():
                    walk(
                        sub,
                        f"{prefix}.{name}" if prefix else name,
                        required and name in needed if prefix else name in needed,
                    )
            elif kind == "array" and isinstance(schema.get("items"), dict):
                walk_items(schema["items"], f"{prefix}[]", required)

        def walk_items(schema: Mapping[str, Any], prefix: str, required: bool) -> None:
            if schema.get("type") == "object":
                needed = set(schema.get("required", []))
                for name, sub in schema.get("properties", {}).items():
                    walk(sub, f"{prefix}.{name}", required and name in needed)

        walk(self.schema, "", True)
        return out


class TemplateLibrary:
    """Templates found in folders; a later folder adds templates or overrides earlier ones."""

    def __init__(self, templates: Mapping[str, Template]):
        self._templates = dict(templates)

    @classmethod
    def from_dirs(cls, *dirs: Path | str) -> TemplateLibrary:
        """Load every ``NAME/template.json`` under each folder (built-ins first, agency's last)."""
        found: dict[str, Template] = {}
        for d in dirs:
            d = Path(d)
            if not d.is_dir():
                continue
            for folder in sorted(p for p in d.iterdir() if (p / "template.json").is_file()):
                template = Template.from_dir(folder)
                found[template.name] = template
        return cls(found)

    @classmethod
    def builtin(cls) -> TemplateLibrary:
        """The templates that ship with edoc."""
        return cls.from_dirs(BUILTIN_DIR)

    def names(self) -> list[str]:
        """Names of the available templates, sorted."""
        return sorted(self._templates)

    def get(self, name: str) -> Template:
        """The template called ``name``; :class:`NotFound` lists the available ones."""
        try:
            return self._templates[name]
        except KeyError:
            raise NotFound(
                f"no template named {name!r}; available: {', '.join(self.names()) or '(none)'}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._templates

    def __iter__(self):
        return iter(self.names())
