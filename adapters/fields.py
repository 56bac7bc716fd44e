"""Shared field parsers for native rows: each returns the standard's value or raises Rejected.

A Rejected carries a short reason code (the dead letter's ``reason``, counted in metrics and run
summaries) and a message naming the field, its native column and the offending value, for the clerk
who fixes the export.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.code_tables import code_table
from exchange.clock import CHINA_TIME
from exchange.errors import ValidationError
from exchange.identity import ResidentId, parse_resident_id
from exchange.validation import normalise_name

# What a spreadsheet date cell reads as (connectors/sources/spreadsheets.py), whatever the department's
# CSV format; a date cell formatted with hours reads as that day's midnight.
SPREADSHEET_DATES = ("%Y-%m-%d", "%Y-%m-%d 00:00:00")
YES_NO = {"是": True, "否": False, "TRUE": True, "FALSE": False}  # TRUE/FALSE: an Excel boolean cell
LIST_SEPARATORS = re.compile(r"[、,，;；]")


class Rejected(ValueError):
    """A row that breaks the data standard; ``reason`` is a short code, the message explains."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def text(row: dict[str, Any], column: str) -> str:
    """The cell's text, stripped; "" for a missing column or an empty cell."""
    value = row.get(column)
    return "" if value is None else str(value).strip()


def required(row: dict[str, Any], column: str, field_name: str) -> str:
    value = text(row, column)
    if not value:
        raise Rejected("missing_field", f"{field_name} ({column}) is empty")
    return value


def optional(row: dict[str, Any], column: str) -> str | None:
    """The cell's text, or None for a missing column or an empty cell."""
    return text(row, column) or None


def parsed_resident_id(row: dict[str, Any], column: str, field_name: str = "resident_id") -> ResidentId:
    """The row's resident ID number with its parts (birth date, sex); Rejected when it is not valid."""
    try:
        return parse_resident_id(required(row, column, field_name))
    except ValidationError as exc:
        raise Rejected("invalid_resident_id", f"{field_name} ({column}): {exc}") from exc


def resident_id(row: dict[str, Any], column: str, field_name: str = "resident_id") -> str:
    return parsed_resident_id(row, column, field_name).number


def person_name(row: dict[str, Any], column: str, field_name: str = "name") -> str:
    try:
        return normalise_name(required(row, column, field_name))
    except ValidationError as exc:
        raise Rejected("invalid_name", f"{field_name} ({column}): {exc}") from exc


def coded(row: dict[str, Any], column: str, field_name: str, table: str) -> str:
    """The standard's value for the row's native code, looked up in code table ``table``."""
    return lookup(required(row, column, field_name), column, field_name, table)


def lookup(value: str, column: str, field_name: str, table: str) -> str:
    codes = code_table(table)
    found = codes.lookup(value)
    if found is None:
        raise Rejected("unknown_code", f"{field_name} ({column}) has unknown code {value!r} ({codes.standard})")
    return found


def coded_list(row: dict[str, Any], column: str, field_name: str, table: str) -> list[str]:
    """Several codes in one cell, joined by 、 (or , ， ; ；), in their order, each once."""
    values = [part.strip() for part in LIST_SEPARATORS.split(required(row, column, field_name))]
    symbols = [lookup(value, column, field_name, table) for value in values if value]
    if not symbols:
        raise Rejected("missing_field", f"{field_name} ({column}) names no code")
    return list(dict.fromkeys(symbols))


def to_date(value: str, column: str, field_name: str, fmt: str) -> date:
    """``value`` in the department's format ``fmt``, or as a spreadsheet date cell reads."""
    for candidate in (fmt, *SPREADSHEET_DATES):
        try:
            parsed = datetime.strptime(value, candidate).date()
        except ValueError:
            continue
        # strptime takes 2024111 for %Y%m%d: a format without separators must match digit for digit.
        compact = candidate.replace("%", "").isalpha()
        if not compact or len(value) == len(parsed.strftime(candidate)):
            return parsed
    example = date(2024, 1, 31).strftime(fmt)
    raise Rejected("invalid_date", f"{field_name} ({column}) is not a date like {example}: {value!r}")


def parse_date(row: dict[str, Any], column: str, field_name: str, fmt: str) -> date:
    return to_date(required(row, column, field_name), column, field_name, fmt)


def optional_date(row: dict[str, Any], column: str, field_name: str, fmt: str) -> date | None:
    value = text(row, column)
    return to_date(value, column, field_name, fmt) if value else None


def not_before(later: date | None, earlier: date, later_field: str, earlier_field: str) -> None:
    """Rejected ``invalid_date`` when ``later`` (if any) is before ``earlier``."""
    if later is not None and later < earlier:
        raise Rejected("invalid_date", f"{later_field} {later} is before {earlier_field} {earlier}")


def parse_local_time(row: dict[str, Any], column: str, field_name: str) -> datetime:
    """A 'YYYY-MM-DD HH:MM:SS' China local time as an aware datetime."""
    value = required(row, column, field_name)
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME)
    except ValueError:
        raise Rejected(
            "invalid_time", f"{field_name} ({column}) is not a time like 2024-01-31 08:00:00: {value!r}"
        ) from None


def to_amount(value: str, column: str, field_name: str, *, negative: bool = False) -> Decimal:
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise Rejected("invalid_amount", f"{field_name} ({column}) is not an amount: {value!r}") from None
    lowest = Decimal("-1e8") if negative else 0
    if not amount.is_finite() or amount < lowest or amount >= Decimal("1e8"):
        raise Rejected("invalid_amount", f"{field_name} ({column}) is out of range: {value!r}")
    return amount.quantize(Decimal("0.01"))


def parse_amount(row: dict[str, Any], column: str, field_name: str) -> Decimal:
    """An amount in yuan (thousands separators allowed), 0 to below 100 million, to the fen."""
    return to_amount(required(row, column, field_name), column, field_name)


def optional_amount(row: dict[str, Any], column: str, field_name: str, *, negative: bool = False) -> Decimal | None:
    value = text(row, column)
    return to_amount(value, column, field_name, negative=negative) if value else None


def parse_int(row: dict[str, Any], column: str, field_name: str, low: int, high: int, reason: str) -> int:
    """A whole number from ``low`` to ``high``; Rejected ``reason`` otherwise."""
    value = required(row, column, field_name)
    try:
        number = int(value)
    except ValueError:
        raise Rejected(reason, f"{field_name} ({column}) is not a whole number: {value!r}") from None
    if not low <= number <= high:
        raise Rejected(reason, f"{field_name} ({column}) is {number}, outside {low}-{high}")
    return number


def parse_bool(row: dict[str, Any], column: str, field_name: str) -> bool:
    """是 or 否 (or an Excel TRUE/FALSE cell)."""
    value = required(row, column, field_name)
    found = YES_NO.get(value.upper())
    if found is None:
        raise Rejected("invalid_boolean", f"{field_name} ({column}) is not 是 or 否: {value!r}")
    return found


def digits(row: dict[str, Any], column: str, field_name: str, length: int, reason: str) -> str:
    """A code of exactly ``length`` ASCII digits; Rejected ``reason`` otherwise."""
    value = required(row, column, field_name)
    if len(value) != length or not (value.isascii() and value.isdigit()):
        raise Rejected(reason, f"{field_name} ({column}) is not {length} digits: {value!r}")
    return value
