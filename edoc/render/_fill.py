"""Placeholders in template text: ``{holder.name}``, ``{completed_on|date|thai_digits}``.

A placeholder is a dotted field path, or a render value starting with ``@``
(``@doc_id``, ``@verify_url``, ``@agency``, ``@agency_address``,
``@issued_on``, ``@page``), followed by filters. ``{{`` and ``}}`` are literal
braces. Missing optional fields render as nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .. import thai

__all__ = ["FillContext", "fill", "localized", "lookup", "first_field"]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


@dataclass(frozen=True)
class FillContext:
    """What placeholders can refer to."""

    data: Mapping[str, Any]
    lang: str
    values: Mapping[str, Any] = field(default_factory=dict)


def localized(value: Any, lang: str) -> Any:
    """Pick ``lang`` from a ``{"th": ..., "en": ...}`` object; other values pass through."""
    if isinstance(value, Mapping):
        for key in (lang, "*"):
            if key in value:
                return value[key]
        return next(iter(value.values()), "")
    return value


def lookup(ctx: FillContext, path: str, row: Mapping[str, Any] | None = None) -> Any:
    """The value at dotted ``path`` (in ``row`` first, for table cells), or None."""
    if path.startswith("@"):
        return ctx.values.get(path[1:])
    for root in ((row,) if row is not None else ()) + (ctx.data,):
        value: Any = root
        for part in path.split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                value = None
                break
        if value is not None:
            return value
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _date_filter(lang: str | None, style: str) -> Callable[[Any, str, FillContext], Any]:
    def run(value: Any, arg: str, ctx: FillContext) -> Any:
        d = _as_date(value)
        if d is None:
            return value
        use = lang or ("th" if ctx.lang == "th" else "en")
        return thai.thai_date(
            d, lang=use, style=style, digits="thai" if arg == "thai" else "arabic"
        )

    return run


def _sum(value: Any, arg: str, ctx: FillContext) -> Any:
    items = value if isinstance(value, list) else []
    total = sum(
        (Decimal(str(lookup(FillContext(item, ctx.lang), arg) or 0)) for item in items), Decimal(0)
    )
    return _number(int(total) if total == total.to_integral_value() else float(total))


FILTERS: dict[str, Callable[[Any, str, FillContext], Any]] = {
    "date": _date_filter(None, "long"),
    "date_short": _date_filter(None, "short"),
    "thai_date": _date_filter("th", "long"),
    "en_date": _date_filter("en", "long"),
    "thai_digits": lambda v, a, c: thai.to_thai_digits(_number(v)),
    "sum": _sum,
    "count": lambda v, a, c: str(len(v)) if isinstance(v, list) else "0",
    "number": lambda v, a, c: f"{float(v):.{int(a or 0)}f}" if isinstance(v, int | float) else v,
    "masked_id": lambda v, a, c: thai.mask_thai_id(str(v)),
    "thai_id": lambda v, a, c: thai.format_thai_id(str(v)),
    "upper": lambda v, a, c: str(v).upper(),
}


def _apply(expr: str, ctx: FillContext, row: Mapping[str, Any] | None) -> str:
    path, *filters = (p.strip() for p in expr.split("|"))
    value = lookup(ctx, path, row)
    if value is None:
        return ""
    for f in filters:
        name, _, arg = f.partition(":")
        try:
            run = FILTERS[name]
        except KeyError:
            raise ValueError(
                f"unknown filter {name!r} in {{{expr}}}; use one of {', '.join(FILTERS)}"
            ) from None
        value = run(value, arg, ctx)
    if isinstance(value, bool):
        return "✓" if value else ""
    return _number(value) if isinstance(value, int | float) else str(value)


def fill(text: str, ctx: FillContext, row: Mapping[str, Any] | None = None) -> str:
    """Replace the placeholders in ``text``."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return _apply(m.group(1), ctx, row)

    return _PLACEHOLDER.sub(sub, text)


def first_field(text: str) -> str | None:
    """The first field a text refers to, data fields first (names the field in errors)."""
    paths = [m.group(1).split("|")[0].strip() for m in _PLACEHOLDER.finditer(text) if m.group(1)]
    data_paths = [p for p in paths if not p.startswith("@")]
    return (data_paths or paths or [None])[0]
