"""Resident ID numbers: check digit, parsing, every rejection reason, masking and ages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import ExchangeError, ValidationError
from exchange.identity import (
    PROVINCES,
    ResidentId,
    age_on,
    check_digit,
    is_valid_resident_id,
    make_resident_id,
    mask_resident_id,
    parse_resident_id,
)

TODAY = date(2026, 6, 1)

# Worked by hand with the weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 and the map "10X98765432".
KNOWN_GOOD = [
    ("11010519491231002X", "110105", date(1949, 12, 31), "002", "female"),  # the example printed in GB 11643
    ("530124194506011232", "530124", date(1945, 6, 1), "123", "male"),
    ("440524188001010014", "440524", date(1880, 1, 1), "001", "male"),
    ("530124200002290029", "530124", date(2000, 2, 29), "002", "female"),
]

birth_dates = st.dates(min_value=date(1880, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)
area_codes = st.builds(lambda province, rest: province + rest, st.sampled_from(sorted(PROVINCES)),
                       st.from_regex(r"[0-9]{4}", fullmatch=True))


@pytest.mark.parametrize(("number", "area", "birth", "sequence", "sex"), KNOWN_GOOD)
def test_known_good_numbers_parse_into_their_parts(number, area, birth, sequence, sex):
    """Real-format numbers with hand-computed check digits parse into area, birth date, sequence and sex."""
    assert parse_resident_id(number, today=TODAY) == ResidentId(number, area, birth, sequence, sex)
    assert check_digit(number[:17]) == number[17]
    assert is_valid_resident_id(number, today=TODAY)


def test_lowercase_x_and_whitespace_are_normalised():
    """A trailing lowercase x and surrounding whitespace are accepted and normalised."""
    parsed = parse_resident_id("  11010519491231002x\t", today=TODAY)
    assert parsed.number == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("11010519491231002", "must be 18 characters \\(or a 15-digit legacy number\\), got 17"),
        ("11010519491231002X1", "must be 18 characters \\(or a 15-digit legacy number\\), got 19"),
        ("", "must be 18 characters \\(or a 15-digit legacy number\\), got 0"),
        ("990105194912310021", "names no province"),
        ("1101051949A231002X", "found 'A' at position 11"),
        ("１10105194912310021", "found '１' at position 1"),  # a full-width digit is not a digit here
        ("11010519491231002Y", "must end in a digit or X, found 'Y'"),
        ("010105194912310021", r"area code 010105 .*\(cannot start with 0\)"),
        ("110105195002300021", "birth date 19500230 is not a calendar date"),
        ("110105194913010021", "birth date 19491301 is not a calendar date"),
        ("110105202606020021", "birth date 2026-06-02 is in the future"),
        ("110105187912310021", "birth date 1879-12-31 is before 1880"),
        ("110105194912310025", "check digit is 5, expected X"),
        ("530124194506011237", "check digit is 7, expected 2"),
    ],
)
def test_each_rejection_reason_is_named(value, message):
    """Every kind of invalid number raises ValidationError with a message naming the exact fault."""
    with pytest.raises(ValidationError, match=message) as caught:
        parse_resident_id(value, today=TODAY)
    assert [field for field, _ in caught.value.errors] == ["resident_id"]
    assert not is_valid_resident_id(value, today=TODAY)


def test_validation_error_belongs_to_the_project_tree():
    """Invalid numbers raise an ExchangeError that callers catching ValueError also catch."""
    with pytest.raises(ExchangeError):
        parse_resident_id("x")
    with pytest.raises(ValueError, match="18 characters"):
        parse_resident_id("x")


def test_non_text_is_invalid_not_a_crash():
    """is_valid_resident_id answers False for None and numbers instead of raising."""
    assert not is_valid_resident_id(None)
    assert not is_valid_resident_id(530124194506011232)


def test_future_is_judged_against_today_by_default():
    """Without an explicit today, a birth date after the real today is rejected."""
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(ValidationError, match="in the future"):
        parse_resident_id(make_resident_id("530124", tomorrow, 1))


@given(area=area_codes, birth=birth_dates, sequence=sequences)
def test_make_then_parse_round_trips(area, birth, sequence):
    """Any area, valid birth date and sequence make a number that parses back to the same parts."""
    number = make_resident_id(area, birth, sequence)
    parsed = parse_resident_id(number, today=TODAY)
    assert (parsed.area_code, parsed.birth_date, int(parsed.sequence)) == (area, birth, sequence)
    assert parsed.sex == ("male" if sequence % 2 else "female")


@given(birth=birth_dates, sequence=sequences, position=st.integers(0, 17), data=st.data())
def test_any_single_character_change_is_detected(birth, sequence, position, data):
    """Changing any one character of a valid number to another digit (or X at the end) makes it invalid."""
    number = make_resident_id("530124", birth, sequence)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    changed = number[:position] + replacement + number[position + 1:]
    # Some changes yield an impossible date or area before the check digit is even looked at; any
    # reason will do, the point is that MOD 11-2 leaves no single substitution undetected.
    assert not is_valid_resident_id(changed, today=TODAY)


@pytest.mark.parametrize(
    ("area", "birth", "sequence", "message"),
    [
        ("53012", date(1990, 1, 1), 1, "area code must be 6 digits"),
        ("030124", date(1990, 1, 1), 1, "not starting with 0"),
        ("530124", date(1879, 12, 31), 1, "before 1880"),
        ("530124", date(1990, 1, 1), 1000, "sequence must be 0-999"),
        ("530124", date(1990, 1, 1), -1, "sequence must be 0-999"),
    ],
)
def test_make_refuses_impossible_parts(area, birth, sequence, message):
    """make_resident_id raises ValidationError rather than build a number that would not parse."""
    with pytest.raises(ValidationError, match=message):
        make_resident_id(area, birth, sequence)


def test_mask_keeps_area_and_last_four():
    """Masking shows the first 6 and last 4 characters and hides the birth date."""
    assert mask_resident_id("530124194506011234") == "530124********1234"
    assert mask_resident_id(" 11010519491231002x ") == "110105********002X"


def test_mask_refuses_values_it_would_barely_hide():
    """A value that is not 18 characters cannot be masked safely and is refused."""
    with pytest.raises(ValidationError, match="cannot mask"):
        mask_resident_id("5301241234")


def test_age_turns_on_the_birthday_itself():
    """The day before the 80th birthday the age is 79; on the birthday it is 80."""
    birth = date(1946, 6, 1)
    assert age_on(birth, date(2026, 5, 31)) == 79
    assert age_on(birth, date(2026, 6, 1)) == 80
    assert age_on(birth, date(2026, 6, 2)) == 80
    assert age_on(birth, birth) == 0


@pytest.mark.parametrize(
    ("day", "age"),
    [
        (date(2025, 2, 28), 24),  # common year: not yet
        (date(2025, 3, 1), 25),  # common year: a year older on 1 March
        (date(2028, 2, 28), 27),
        (date(2028, 2, 29), 28),  # leap year: on the day itself
    ],
)
def test_leap_day_birthdays_count_from_first_of_march_in_common_years(day, age):
    """Someone born on 29 February becomes a year older on 1 March in common years."""
    assert age_on(date(2000, 2, 29), day) == age


def test_age_before_birth_is_an_error():
    """Asking for an age before the birth date raises ValidationError instead of returning -1."""
    with pytest.raises(ValidationError, match="before the birth date"):
        age_on(date(2000, 1, 2), date(2000, 1, 1))
