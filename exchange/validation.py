"""Personal names and phone numbers as Chinese departments record them, checked and normalised."""

from __future__ import annotations

import re
import unicodedata

from exchange.errors import ValidationError

# Middle dots seen in exported names (e.g. 阿依古丽·买买提), all meaning the separator U+00B7.
_DOTS = str.maketrans({"•": "·", "・": "·", "‧": "·", "．": "·", "∙": "·", "⋅": "·", "･": "·", ".": "·"})
MAX_NAME_LENGTH = 60
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Beijing (010) and the 02x cities have 3-digit area codes, the rest of the mainland 4.
_LANDLINE = re.compile(r"(0[12][0-9]|0[3-9][0-9]{2})([1-9][0-9]{6,7})")


def normalise_name(value: str) -> str:
    """A person's name, NFC-normalised, with one kind of middle dot and no stray spaces.

    Accepts any letters (rare characters beyond the Basic Multilingual Plane included), the middle
    dot between parts, and spaces inside Latin-script names. Raises ValidationError for an empty
    name, digits, punctuation or control characters, or a name longer than 60 characters.
    """
    name = unicodedata.normalize("NFC", value).strip().translate(_DOTS)
    name = re.sub(r"\s*·\s*", "·", re.sub(r"\s+", " ", name))
    if not name:
        raise ValidationError("name is empty", [("name", "empty")])
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"name is {len(name)} characters long (at most {MAX_NAME_LENGTH})",
                              [("name", "too long")])
    for ch in name:
        if ch in "· " or unicodedata.category(ch).startswith(("L", "M")):
            continue
        raise ValidationError(f"name contains {ch!r} ({unicodedata.name(ch, 'unnamed')}), which no name has",
                              [("name", "invalid character")])
    if name.startswith("·") or name.endswith("·") or "··" in name:
        raise ValidationError("name has a middle dot with no name part on one side", [("name", "misplaced dot")])
    return name


def normalise_phone(value: str) -> str:
    """A mainland mobile number as 11 digits, or a landline as ``0871-12345678``.

    Spaces, dashes, brackets and a +86 / 0086 prefix are tolerated. Raises ValidationError otherwise.
    """
    digits = re.sub(r"[\s()（）\-]", "", value.strip())
    digits = re.sub(r"^(\+86|0086)", "", digits)
    if _MOBILE.fullmatch(digits):
        return digits
    landline = _LANDLINE.fullmatch(digits)
    if landline:
        return f"{landline[1]}-{landline[2]}"
    raise ValidationError(f"phone number {value!r} is neither a mobile (1xx xxxx xxxx) nor a landline "
                          "with area code (0xxx-xxxxxxx)", [("phone", "invalid")])
