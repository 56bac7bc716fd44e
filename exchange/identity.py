"""Resident identity numbers (公民身份号码) as defined by GB 11643-1999.

An 18-character number is laid out as::

    530124 19491231 002 X
    ^area  ^birth   ^seq ^check

- area: the 6-digit administrative-division code (GB/T 2260) where the number was first issued;
- birth: the date of birth, ``YYYYMMDD``;
- seq: a 3-digit sequence among people born on that day in that area, odd for men, even for women;
- check: ISO 7064 MOD 11-2 over the first 17 digits, one of ``0-9`` or ``X`` (standing for 10).

Every function here either returns a well-formed value or raises
:class:`~exchange.errors.ValidationError` naming what is wrong, so callers can dead-letter the record
with a reason a clerk understands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from exchange.errors import ValidationError

__all__ = [
    "EARLIEST_BIRTH_YEAR",
    "ResidentId",
    "age_on",
    "check_digit",
    "is_valid_resident_id",
    "make_resident_id",
    "mask_resident_id",
    "parse_resident_id",
]

# Weight of position i is 2**(17 - i) mod 11 (ISO 7064 MOD 11-2), written out as the standard prints it.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_FIELD = "resident_id"

# Nobody alive or on file was born earlier; a smaller year is a typo, not a centenarian.
EARLIEST_BIRTH_YEAR = 1880
# First two digits of a division code (GB/T 2260): the provinces, autonomous regions and
# municipalities, Taiwan (71), Hong Kong (81), Macao (82), and 83 for Taiwan residents' mainland permits.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
})

Sex = Literal["male", "female"]


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A resident ID number that passed every check of GB 11643, split into its parts."""

    number: str
    area_code: str
    birth_date: date
    sequence: str
    sex: Sex


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, errors=[(_FIELD, message)])


def check_digit(first17: str) -> str:
    """Return the GB 11643 check character ("0"-"9" or "X") for the first 17 digits of a number.

    Raises ValidationError unless ``first17`` is exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise _invalid(f"check digit needs exactly 17 digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID number and return its parts.

    Surrounding whitespace is ignored and a lowercase trailing ``x`` is accepted; ``number`` in the
    result is the normalised form (upper-case ``X``). ``today`` (default: the real today) bounds the
    birth date from above, so a data set generated "as of" some day validates the same on any day.

    Raises ValidationError, with one precise reason, for: a wrong length, non-digits among the first
    17 characters, a last character other than a digit or X, an area code starting with 0, a birth
    date that is not a calendar date, lies in the future or before 1880, and a wrong check digit.
    """
    if not isinstance(value, str):
        raise _invalid(f"resident ID must be text, got {type(value).__name__}")
    number = value.strip()
    if len(number) == 15 and number.isascii() and number.isdigit():
        number = upgrade_legacy_id(number)
    if len(number) != 18:
        raise _invalid(f"resident ID must be 18 characters (or a 15-digit legacy number), got {len(number)}")
    number = number[:17] + number[17].upper()
    first17, last = number[:17], number[17]
    if not (first17.isascii() and first17.isdigit()):
        bad = next(i for i, ch in enumerate(first17) if not ("0" <= ch <= "9"))
        raise _invalid(f"resident ID must have digits in its first 17 positions, found {first17[bad]!r} "
                       f"at position {bad + 1}")
    if last not in "0123456789X":
        raise _invalid(f"resident ID must end in a digit or X, found {last!r}")
    if first17[0] == "0":
        raise _invalid(f"area code {first17[:6]} is not a division code (cannot start with 0)")
    if first17[:2] not in PROVINCES:
        raise _invalid(f"area code {first17[:6]} names no province ({first17[:2]} is not a GB/T 2260 province code)")
    birth_text = first17[6:14]
    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:8]))
    except ValueError:
        raise _invalid(f"birth date {birth_text} is not a calendar date") from None
    limit = today or date.today()
    if birth > limit:
        raise _invalid(f"birth date {birth.isoformat()} is in the future (today is {limit.isoformat()})")
    if birth.year < EARLIEST_BIRTH_YEAR:
        raise _invalid(f"birth date {birth.isoformat()} is before {EARLIEST_BIRTH_YEAR}")
    expected = check_digit(first17)
    if last != expected:
        raise _invalid(f"check digit is {last}, expected {expected}")
    sequence = first17[14:17]
    return ResidentId(
        number=number,
        area_code=first17[:6],
        birth_date=birth,
        sequence=sequence,
        sex="male" if int(sequence) % 2 else "female",
    )


def upgrade_legacy_id(number: str) -> str:
    """The 18-digit form of a 15-digit resident ID issued before 1999 (GB 11643-1989).

    The legacy form is area code (6), birth date as YYMMDD in the 1900s (6) and sequence (3); the
    upgrade inserts the century and appends the GB 11643-1999 check digit.
    """
    if len(number) != 15 or not (number.isascii() and number.isdigit()):
        raise _invalid(f"a legacy resident ID is 15 digits, got {number!r}")
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_digit(first17)


def is_valid_resident_id(value: object, *, today: date | None = None) -> bool:
    """True when ``value`` is text that :func:`parse_resident_id` accepts; never raises."""
    if not isinstance(value, str):
        return False
    try:
        parse_resident_id(value, today=today)
    except ValidationError:
        return False
    return True


def make_resident_id(area_code: str, birth: date, sequence: int) -> str:
    """Build the valid 18-character number for an area, a birth date and a sequence (0-999).

    The sequence's parity is the sex: odd for men, even for women. Raises ValidationError for an
    area code that is not 6 digits or starts with 0, a birth year outside 1880-9999, or a sequence
    out of range. The birth date is not compared with today, so numbers can be made for any as-of day.
    """
    if len(area_code) != 6 or not (area_code.isascii() and area_code.isdigit()) or area_code[0] == "0":
        raise _invalid(f"area code must be 6 digits not starting with 0, got {area_code!r}")
    if birth.year < EARLIEST_BIRTH_YEAR:
        raise _invalid(f"birth date {birth.isoformat()} is before {EARLIEST_BIRTH_YEAR}")
    if not 0 <= sequence <= 999:
        raise _invalid(f"sequence must be 0-999, got {sequence}")
    first17 = f"{area_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)


def mask_resident_id(value: str) -> str:
    """Return the number with all but the first 6 and the last 4 characters replaced by ``*``.

    ``"530124********1234"``: the area and the tail stay readable for a clerk matching paper records;
    the birth date, which is personal, is hidden. The check digit is deliberately not verified, so a
    dirty record can still be shown masked, but the value must be 18 characters: masking a shorter
    one would reveal most of it, so that raises ValidationError.
    """
    number = value.strip() if isinstance(value, str) else ""
    if len(number) != 18:
        raise _invalid(f"cannot mask a resident ID of {len(number)} characters (need 18)")
    return number[:6] + "*" * 8 + number[14:17] + number[17].upper()


def age_on(birth: date, day: date) -> int:
    """Return the age in whole years on ``day`` of someone born on ``birth``.

    A birthday counts from its own day: born 1945-06-01, the age on 2025-05-31 is 79 and on 2025-06-01
    it is 80. Someone born on 29 February becomes a year older on 1 March in non-leap years (the usual
    civil reading; the birthday has not happened on 28 February). Raises ValidationError if ``day``
    is before ``birth``.
    """
    if day < birth:
        raise ValidationError(f"day {day.isoformat()} is before the birth date {birth.isoformat()}",
                              errors=[("birth_date", "after the day asked about")])
    # Comparing (month, day) tuples puts (2, 29) after (2, 28) and before (3, 1): exactly the rule above.
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
