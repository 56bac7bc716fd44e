"""Code tables (sex, ethnicity, relationship, programmes...) as data files in ``adapters/codes/``.

A county changes or adds a table by editing YAML, not code. Each file maps a native code to the
data standard's symbol (or, for tables whose code is kept as is, to its name).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from exchange.errors import ConfigError

CODES_DIR = Path(__file__).resolve().parent / "codes"


@dataclass(frozen=True)
class CodeTable:
    name: str
    standard: str
    codes: dict[str, str]
    by_first_digit: bool = False

    def lookup(self, code: str) -> str | None:
        """The standard's value for ``code``, or None when the table has no such code."""
        if self.by_first_digit:
            return self.codes.get(code[0]) if len(code) == 2 and code.isdigit() else None
        return self.codes.get(code)


@cache
def code_table(name: str, directory: Path = CODES_DIR) -> CodeTable:
    """The table in ``<directory>/<name>.yaml``; ConfigError naming the file when it is missing or malformed."""
    path = directory / f"{name}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        codes = {str(k): str(v) for k, v in raw["codes"].items()}
        return CodeTable(name, str(raw.get("standard", "")), codes, bool(raw.get("by_first_digit", False)))
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"code table {path} cannot be read: {exc}") from exc
