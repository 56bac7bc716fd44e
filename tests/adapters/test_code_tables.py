"""Code tables are data files: every shipped table loads, and a broken one is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.code_tables import CODES_DIR, code_table
from exchange.errors import ConfigError


@pytest.mark.parametrize("path", sorted(CODES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_table_loads_and_names_its_standard(path: Path) -> None:
    """Each file has a standard and at least one code."""
    table = code_table(path.stem)
    assert table.standard
    assert table.codes


def test_lookups_follow_the_standards() -> None:
    """GB/T 3304 has 56 groups plus 97/98; GB/T 4761 groups relationship codes by their first digit."""
    ethnicity = code_table("gb3304_ethnicity")
    assert len(ethnicity.codes) == 58
    assert ethnicity.lookup("07") == "彝族"
    assert ethnicity.lookup("57") is None
    relationship = code_table("gb4761_relationship")
    assert (relationship.lookup("02"), relationship.lookup("12"), relationship.lookup("33")) == (
        "HEAD", "SPOUSE", "CHILD")
    assert relationship.lookup("1") is None


def test_a_broken_table_names_its_file(tmp_path: Path) -> None:
    """A county that breaks a table while editing it gets the file's name, not a traceback."""
    (tmp_path / "sex.yaml").write_text("codes: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sex\.yaml"):
        code_table("sex", tmp_path)
