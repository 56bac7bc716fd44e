"""Names and phone numbers as departments write them; legacy 15-digit resident IDs."""

from __future__ import annotations

from datetime import date

import pytest

from exchange.errors import ValidationError
from exchange.identity import parse_resident_id, upgrade_legacy_id
from exchange.validation import normalise_name, normalise_phone


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("张桂英", "张桂英"),
        (" 李 秀兰 ", "李 秀兰"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),  # bullet typed for the middle dot
        ("阿依古丽・买买提", "阿依古丽·买买提"),  # Japanese katakana middle dot
        ("热合曼 · 吐尔逊", "热合曼·吐尔逊"),
        ("𠀋嘉", "𠀋嘉"),  # a rare character outside the Basic Multilingual Plane
        ("Maria Schmidt", "Maria Schmidt"),
    ],
)
def test_names_are_normalised(given: str, expected: str) -> None:
    """Dots, spaces and rare characters end up in one canonical form."""
    assert normalise_name(given) == expected


@pytest.mark.parametrize(("given", "reason"), [
    ("", "empty"), ("张三3", "'3'"), ("王<b>", "'<'"), ("·买买提", "middle dot"), ("买买提··", "middle dot"),
    ("名" * 61, "at most 60"),
])
def test_impossible_names_are_refused(given: str, reason: str) -> None:
    """A name with digits, markup or dangling dots is an error that says what is wrong."""
    with pytest.raises(ValidationError, match=reason):
        normalise_name(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("138 0013 8000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("(0871) 6512 3456", "0871-65123456"),
     ("010-12345678", "010-12345678")],
)
def test_phone_numbers_are_normalised(given: str, expected: str) -> None:
    """Mobiles become 11 digits, landlines area-code-dash-number."""
    assert normalise_phone(given) == expected


@pytest.mark.parametrize("given", ["12800138000", "1380013800", "6512345", "phone"])
def test_impossible_phone_numbers_are_refused(given: str) -> None:
    """Numbers that are neither a mobile nor a landline with area code are errors."""
    with pytest.raises(ValidationError, match="neither a mobile"):
        normalise_phone(given)


def test_legacy_fifteen_digit_ids_are_upgraded() -> None:
    """A pre-1999 15-digit ID gets its century and check digit, and parses as the 18-digit number."""
    assert upgrade_legacy_id("110105491231002") == "11010519491231002X"
    parsed = parse_resident_id("110105491231002", today=date(2026, 1, 1))
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
