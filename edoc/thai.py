"""Thai text helpers: Buddhist Era dates, Thai digits, national IDs, masking, line breaking.

>>> from datetime import date
>>> thai_date(date(2026, 11, 25), digits="thai")
'๒๕ พฤศจิกายน พ.ศ. ๒๕๖๙'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from functools import lru_cache

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.th import pin

__all__ = [
    "THAI_MONTHS",
    "break_thai_lines",
    "clear_caches",
    "format_thai_id",
    "is_valid_thai_id",
    "mask_name",
    "mask_thai_id",
    "segment_words",
    "thai_date",
    "to_thai_digits",
    "validate_thai_id",
    "wrap_words",
]

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
THAI_MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: years between the Common Era and the Buddhist Era used in Thailand
BUDDHIST_ERA_OFFSET = 543

_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def to_thai_digits(text: str) -> str:
    """Replace the Arabic digits 0-9 in ``text`` with Thai digits ๐-๙."""
    return str(text).translate(_THAI_DIGITS)


def thai_date(d: date, *, lang: str = "th", digits: str = "arabic", style: str = "long") -> str:
    """Format a date the way Thai official documents do.

    ``lang="th"`` gives the Buddhist Era year ("25 พฤศจิกายน พ.ศ. 2569", or with
    ``style="short"`` "25 พ.ย. 2569"); ``lang="en"`` gives "25 November 2026"
    (``style="short"``: "25 Nov 2026"). ``digits="thai"`` writes ๒๕ instead of 25.
    """
    if style not in ("long", "short"):
        raise ValueError(f"style must be 'long' or 'short', not {style!r}")
    if digits not in ("arabic", "thai"):
        raise ValueError(f"digits must be 'arabic' or 'thai', not {digits!r}")
    if lang == "th":
        year = d.year + BUDDHIST_ERA_OFFSET
        if style == "long":
            text = f"{d.day} {THAI_MONTHS[d.month - 1]} พ.ศ. {year}"
        else:
            text = f"{d.day} {THAI_MONTHS_SHORT[d.month - 1]} {year}"
    elif lang == "en":
        month = ENGLISH_MONTHS[d.month - 1]
        text = f"{d.day} {month if style == 'long' else month[:3]} {d.year}"
    else:
        raise ValueError(f"lang must be 'th' or 'en', not {lang!r}")
    return to_thai_digits(text) if digits == "thai" else text


# --- national ID -------------------------------------------------------------

_ID_SEPARATORS = re.compile(r"[\s\-]")


def validate_thai_id(value: str) -> str:
    """Return the 13-digit form of a Thai national ID, or raise ``ValueError`` saying why not.

    Spaces and dashes are ignored ("1-2345-67890-12-1" is accepted); Thai digits
    are accepted too. The message is written for the person who typed the number.
    """
    if not isinstance(value, str):
        raise ValueError("must be a string of 13 digits")
    number = _ID_SEPARATORS.sub("", value).translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))
    try:
        return pin.validate(number)
    except InvalidLength:
        raise ValueError(f"must have 13 digits, not {len(number)}") from None
    except InvalidFormat:
        raise ValueError("must contain only digits (dashes and spaces are ignored)") from None
    except InvalidChecksum:
        expected = pin.calc_check_digit(number[:12])
        raise ValueError(
            f"check digit does not match: the last digit should be {expected}, "
            "so the number was probably mistyped"
        ) from None
    except InvalidComponent:
        raise ValueError(
            f"cannot start with {number[0]}: Thai national IDs start with 1-8"
        ) from None


def is_valid_thai_id(value: str) -> bool:
    """True if ``value`` is a well-formed Thai national ID with a correct check digit."""
    try:
        validate_thai_id(value)
    except ValueError:
        return False
    return True


def format_thai_id(value: str) -> str:
    """Write a national ID in its usual groups: ``1-2345-67890-12-1``."""
    n = _ID_SEPARATORS.sub("", value)
    return f"{n[0]}-{n[1:5]}-{n[5:10]}-{n[10:12]}-{n[12]}" if len(n) == 13 else value


def mask_thai_id(value: str) -> str:
    """Mask the middle of a national ID for public display: ``1-2345-xxxxx-12-1``."""
    n = _ID_SEPARATORS.sub("", value)
    if len(n) != 13:
        return "x" * len(n)
    return f"{n[0]}-{n[1:5]}-xxxxx-{n[10:12]}-{n[12]}"


# --- names ---------------------------------------------------------------------

# Longest first, so that นางสาว wins over นาง.
_THAI_TITLES = tuple(
    sorted(
        (
            "นาย",
            "นาง",
            "นางสาว",
            "น.ส.",
            "ด.ช.",
            "ด.ญ.",
            "เด็กชาย",
            "เด็กหญิง",
            "ดร.",
            "ศ.",
            "รศ.",
            "ผศ.",
            "ศ.ดร.",
            "รศ.ดร.",
            "ผศ.ดร.",
            "นพ.",
            "พญ.",
            "ว่าที่ร้อยตรี",
            "ว่าที่ ร.ต.",
        ),
        key=len,
        reverse=True,
    )
)
_LATIN_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "master"}
_MASK = "***"


_LEADING_VOWELS = "เแโใไ"


def _first_grapheme(word: str) -> str:
    """The first letter with its marks; a Thai leading vowel (เ แ โ ใ ไ) keeps its consonant."""
    end = 1
    if word[0] in _LEADING_VOWELS and len(word) > 1:
        end = 2
    while end < len(word) and unicodedata.category(word[end]) in ("Mn", "Mc"):
        end += 1
    return word[:end]


def _split_title(name: str) -> tuple[str, str]:
    first, _, rest = name.partition(" ")
    if first.rstrip(".").lower() in _LATIN_TITLES and rest:
        return first + " ", rest.lstrip()
    for title in _THAI_TITLES:
        rest = name[len(title) :]
        if name.startswith(title) and rest.strip():
            spaces = rest[: len(rest) - len(rest.lstrip())]
            return title + spaces, rest.lstrip()
    return "", name


def mask_name(name: str) -> str:
    """Keep the title and given name; reduce the rest to its first letter: ``Ms Jane D***``.

    "นางสาวปิยะนุช ศรีสุข" becomes "นางสาวปิยะนุช ศ***". A name without a family
    name ("ปิยะนุช", "Jane") is reduced to its first letter, so that nothing
    published in the registry identifies a person on its own.
    """
    name = " ".join(name.split())
    if not name:
        return ""
    title, rest = _split_title(name)
    given, _, family = rest.partition(" ")
    if not family:
        return f"{title}{_first_grapheme(given)}{_MASK}"
    return f"{title}{given} {_first_grapheme(family)}{_MASK}"


# --- word segmentation and line breaking ------------------------------------------

_THAI_RUN = re.compile(r"[\u0e00-\u0e7f]+")
_SPACE_SPLIT = re.compile(r"(\s+)")


@lru_cache(maxsize=8192)
def _thai_tokenize(run: str) -> tuple[str, ...]:
    # Imported lazily: the dictionary takes ~0.4 s to load the first time.
    from pythainlp.tokenize import word_tokenize

    # One Thai run (no spaces, no Latin) splits the same wherever it stands, so the
    # runs of a template's labels and of common names are segmented once.
    return tuple(word_tokenize(run, engine="newmm", keep_whitespace=True))


@lru_cache(maxsize=4096)
def _segment_cached(text: str) -> tuple[str, ...]:
    tokens: list[str] = []
    for part in _SPACE_SPLIT.split(text):
        if not part:
            continue
        if part.isspace():
            tokens.append(part)
            continue
        # A non-space chunk: Thai runs inside it are split into words; anything
        # else (Latin words, numbers, "พ.ศ.") stays glued to its neighbours.
        pieces: list[str] = []
        pos = 0
        for m in _THAI_RUN.finditer(part):
            words = list(_thai_tokenize(m.group()))
            if m.start() > pos:
                if pieces:
                    pieces[-1] += part[pos : m.start()]
                else:
                    pieces.append(part[pos : m.start()])
                if words:
                    words[0] = pieces.pop() + words[0]
            pieces.extend(words)
            pos = m.end()
        if pos < len(part):
            if pieces:
                pieces[-1] += part[pos:]
            else:
                pieces.append(part[pos:])
        tokens.extend(pieces)
    return tuple(tokens)


def clear_caches() -> None:
    """Forget the word breaks found so far (the dictionary stays loaded)."""
    _segment_cached.cache_clear()
    _thai_tokenize.cache_clear()


def segment_words(text: str) -> list[str]:
    """Split text into pieces between which a line may break.

    Thai is written without spaces between words, so Thai runs are split into
    words with PyThaiNLP's ``newmm`` dictionary segmenter; elsewhere lines break
    only at whitespace. Whitespace comes back as its own pieces, and the pieces
    join back to exactly ``text``.
    """
    return list(_segment_cached(text))


def _split_graphemes(word: str) -> list[str]:
    out: list[str] = []
    for ch in word:
        if out and unicodedata.category(ch) in ("Mn", "Mc"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def wrap_words(
    tokens: list[str],
    max_width: float,
    *,
    measure: Callable[[str], float],
    first_indent: float = 0.0,
) -> list[list[str]]:
    """Fill lines greedily with the pieces of :func:`segment_words`; spaces at line ends vanish."""
    lines: list[list[str]] = []
    line: list[str] = []
    width = first_indent
    limit = max_width
    for token in tokens:
        w = measure(token)
        if token.isspace():
            if line:
                line.append(token)
                width += w
            continue
        if line and width + w > limit:
            while line and line[-1].isspace():
                line.pop()
            lines.append(line)
            line, width = [], 0.0
        if not line and w > limit - width:
            # A single word wider than the line: break between letters, never between a
            # letter and its marks.
            chunk = ""
            for g in _split_graphemes(token):
                if chunk and measure(chunk + g) > limit - width:
                    lines.append([chunk])
                    chunk, width = "", 0.0
                chunk += g
            token, w = chunk, measure(chunk)
        line.append(token)
        width += w
    while line and line[-1].isspace():
        line.pop()
    if line or not lines:
        lines.append(line)
    return lines


def break_thai_lines(
    text: str, max_width: float, *, measure: Callable[[str], float], first_indent: float = 0.0
) -> list[str]:
    """Wrap ``text`` into lines no wider than ``max_width``, breaking Thai between words.

    ``measure`` gives the width of a piece of text in the same unit as
    ``max_width`` (points for the renderer, ``len`` for a fixed-width check).
    Newlines in ``text`` force a break. No break character is inserted, so
    nothing extra shows up when the text is copied out of the PDF.
    """
    out: list[str] = []
    for i, paragraph in enumerate(text.split("\n")):
        indent = first_indent if i == 0 else 0.0
        out.extend(
            "".join(line)
            for line in wrap_words(
                segment_words(paragraph), max_width, measure=measure, first_indent=indent
            )
        )
    return out
