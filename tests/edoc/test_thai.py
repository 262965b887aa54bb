"""Thai helpers: Buddhist Era dates, digits, national IDs, masking and word-boundary wrapping."""

from __future__ import annotations

from datetime import date

import pytest

from edoc.thai import (
    break_thai_lines,
    format_thai_id,
    is_valid_thai_id,
    mask_name,
    mask_thai_id,
    segment_words,
    thai_date,
    to_thai_digits,
    validate_thai_id,
)

# The long paragraph of the shared samples: no spaces between words.
LONG_PARAGRAPH = (
    "หนังสือฉบับนี้ให้ไว้เพื่อรับรองว่าผู้มีรายชื่อข้างต้นได้ผ่านการฝึกอบรมหลักสูตร"
    "การพัฒนาบริการภาครัฐในรูปแบบดิจิทัลครบถ้วนตามเกณฑ์ที่กำหนดทุกประการ"
)


def test_thai_date_is_in_buddhist_era_with_thai_month_name():
    assert thai_date(date(2026, 11, 25)) == "25 พฤศจิกายน พ.ศ. 2569"


def test_thai_date_can_use_thai_digits():
    assert thai_date(date(2026, 11, 25), digits="thai") == "๒๕ พฤศจิกายน พ.ศ. ๒๕๖๙"


def test_short_thai_date_uses_abbreviated_month():
    assert thai_date(date(2027, 1, 2), style="short") == "2 ม.ค. 2570"


def test_english_date_keeps_common_era():
    assert thai_date(date(2026, 11, 25), lang="en") == "25 November 2026"
    assert thai_date(date(2026, 11, 25), lang="en", style="short") == "25 Nov 2026"


def test_unknown_date_language_is_refused():
    with pytest.raises(ValueError, match="lang"):
        thai_date(date(2026, 1, 1), lang="fr")


def test_digits_become_thai_digits():
    assert to_thai_digits("โทร. 0 2123 4567") == "โทร. ๐ ๒๑๒๓ ๔๕๖๗"


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("1234567890121", True),
        ("1234567890122", False),
        ("1100000000008", True),
        ("1100000000009", False),
    ],
)
def test_national_id_check_digit(number, valid):
    assert is_valid_thai_id(number) is valid


def test_national_id_is_normalised_from_its_printed_form():
    assert validate_thai_id("1-2345-67890-12-1") == "1234567890121"
    assert validate_thai_id("๑๑๐๐๐๐๐๐๐๐๐๐๘") == "1100000000008"


def test_wrong_check_digit_says_which_digit_was_expected():
    with pytest.raises(ValueError, match="should be 1"):
        validate_thai_id("1234567890122")


def test_short_national_id_says_how_many_digits_it_has():
    with pytest.raises(ValueError, match="13 digits, not 5"):
        validate_thai_id("12345")


def test_masked_national_id_keeps_only_the_ends():
    assert mask_thai_id("1234567890121") == "1-2345-xxxxx-12-1"
    assert format_thai_id("1234567890121") == "1-2345-67890-12-1"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("นางสาวปิยะนุช ศรีสุข", "นางสาวปิยะนุช ศ***"),
        ("Ms Jane Doe", "Ms Jane D***"),
        ("นาย สมชาย ใจดี", "นาย สมชาย ใจ***"),
        ("ด.ช.ธนากร ผู้ดี", "ด.ช.ธนากร ผู้***"),
        ("ด.ญ.ฐิติมา ญาณี", "ด.ญ.ฐิติมา ญ***"),
        ("Dr. John Q Public", "Dr. John Q***"),
        ("ปิยะนุช", "ปิ***"),
        ("Jane", "J***"),
    ],
)
def test_name_is_masked_after_the_given_name(name, masked):
    assert mask_name(name) == masked


def test_segmentation_splits_thai_words_and_joins_back():
    words = segment_words(LONG_PARAGRAPH)
    assert "".join(words) == LONG_PARAGRAPH
    assert words[:4] == ["หนังสือ", "ฉบับ", "นี้", "ให้"]


def test_latin_and_numbers_only_break_at_spaces():
    words = segment_words("เลขที่ EDOC-2026-0001 วันที่ 25 พ.ย. 2569")
    assert "EDOC-2026-0001" in words and "พ.ย." in words


def test_long_thai_paragraph_wraps_only_between_words():
    words = segment_words(LONG_PARAGRAPH)
    boundaries = {sum(len(w) for w in words[:i]) for i in range(len(words) + 1)}
    lines = break_thai_lines(LONG_PARAGRAPH, 30, measure=len)
    assert len(lines) > 3 and "".join(lines) == LONG_PARAGRAPH
    assert all(len(line) <= 30 for line in lines)
    ends = {sum(len(line) for line in lines[: i + 1]) for i in range(len(lines))}
    assert ends <= boundaries
    assert not any("\u200b" in line for line in lines)


def test_word_longer_than_a_line_breaks_between_letters_not_marks():
    lines = break_thai_lines("ปั้นฝั่งฟื้นปิ่นโต", 3, measure=len)
    # Every line starts with a base letter: no tone mark or vowel sign was orphaned.
    assert all(
        line[0] not in "\u0e31\u0e34\u0e35\u0e36\u0e37\u0e48\u0e49\u0e4a\u0e4b" for line in lines
    )
    assert "".join(lines) == "ปั้นฝั่งฟื้นปิ่นโต"
