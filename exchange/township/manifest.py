"""The township manifest (``township.json``): what was generated, and what a correct pipeline must find."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

MANIFEST_FILE = "township.json"

# Labels of the boundary residents, keys of TownshipManifest.boundary_residents.
TURNS_80_ON_AS_OF = "turns_80_on_as_of"
TURNS_80_TOMORROW = "turns_80_tomorrow"
TURNED_80_YESTERDAY = "turned_80_yesterday"
BOUNDARY_LABELS = (TURNS_80_ON_AS_OF, TURNS_80_TOMORROW, TURNED_80_YESTERDAY)


class Grid(BaseModel):
    """A grid (网格): the patch one grid worker looks after."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str


class Village(BaseModel):
    """A village committee (村委会) with its grids."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    households: int
    residents: int
    grids: list[Grid]


class TownshipManifest(BaseModel):
    """Everything about a generated township that tests and benchmarks check the pipeline against.

    ``dirty`` counts injected anomalies per source and kind; ``expected_rejects`` is how many rows of
    each source a correct validator rejects (the tolerated kinds, duplicates and late older records, are
    not rejects). ``expected_elderly_review`` counts active residents aged 80+ on ``as_of`` whose
    household-register row is clean and who have no receiving 高龄津贴 record once the newest 更新时间 per
    record number wins and rejected rows are ignored.
    """

    model_config = ConfigDict(frozen=True)

    format_version: int = 1
    seed: int
    as_of: date
    dirty_rate: float
    county_code: str
    township_code: str
    township_name: str
    residents: int
    households: int
    villages: list[Village]
    files: dict[str, str] = Field(description="source name → path relative to the manifest")
    counts: dict[str, int] = Field(description="source name → rows written (dirty ones included)")
    dirty: dict[str, dict[str, int]]
    expected_rejects: dict[str, int]
    boundary_residents: dict[str, str] = Field(
        description="turns_80_on_as_of / turns_80_tomorrow / turned_80_yesterday → ID number; "
                    "empty for fewer than 50 residents")
    expected_elderly_review: int

    def write(self, out_dir: Path) -> Path:
        """Write ``township.json`` into ``out_dir`` atomically, so a present manifest means a finished run."""
        path = out_dir / MANIFEST_FILE
        partial = path.with_suffix(".json.partial")
        partial.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
        return path

    @classmethod
    def load(cls, out_dir: Path) -> TownshipManifest:
        """Read the manifest of the township generated into ``out_dir``."""
        return cls.model_validate_json((out_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
