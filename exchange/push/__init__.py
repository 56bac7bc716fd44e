"""Departments pushing records over HTTP: API keys and the row models generated from the data standards."""

from exchange.push.keys import ApiKey, create_key, find_key, list_keys, parse_department, revoke_key
from exchange.push.models import PushedRow, row_errors, row_model, to_record

__all__ = [
    "ApiKey",
    "PushedRow",
    "create_key",
    "find_key",
    "list_keys",
    "parse_department",
    "revoke_key",
    "row_errors",
    "row_model",
    "to_record",
]
