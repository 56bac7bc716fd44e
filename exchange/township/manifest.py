"""The township manifest (``township.json``): what was generated, and what a correct pipeline must find."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

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


def _count(description: str) -> Any:
    return Field(default=0, description=description)


class CrossDepartmentTruths(BaseModel):
    """What the departments' exports say together, counted by the generator as it wrote them.

    Counts are of rows as generated, before dirt (a spoiled row still counts), except
    ``expected_death_notices``, which is what a correct pipeline can find.
    """

    model_config = ConfigDict(frozen=True)

    deaths_registered: int = _count("residents with status deceased (ryzt 2), each with one hjxx_swzx row")
    deaths_with_funeral: int = _count("registered deaths that also have a funeral row (same death date)")
    deaths_only_civil_affairs: int = _count(
        "recent deaths with a funeral row whose register row still says active (ryzt 0), and no hjxx_swzx row")
    expected_death_notices: int = _count(
        "deaths only civil affairs knows of whose funeral row and hjxx_czrk row are both valid: what a "
        "death-notice process must catch")
    assistance_ended_after_death: int = _count("assistance rows of dead residents that are ended (已停发)")
    assistance_open_after_death: int = _count("assistance rows of dead residents still receiving or suspended")
    assistance_address_conflicts: int = _count(
        "assistance rows whose 居住地址 is another address of the township than the registered one")
    assistance_address_unknown: int = _count("assistance rows with an empty 居住地址")
    pensions_terminated_after_death: int = _count("yl_cbxx rows of dead residents that are terminated (cbzt 4)")
    pensions_open_after_death: int = _count("yl_cbxx rows of dead residents not terminated (still paying out)")
    disability_certificate_holders: int = _count("living residents with a valid (有效) disability certificate")
    disability_certificates_superseded: int = _count(
        "cancelled (注销) certificates superseded by a newer one of the same holder (another grade)")
    chronic_hypertension: int = _count("chronic-disease rows for 高血压")
    chronic_type_2_diabetes: int = _count("chronic-disease rows for 2型糖尿病")
    chronic_severe_mental_disorder: int = _count("chronic-disease rows for 严重精神障碍")
    chronic_tuberculosis: int = _count("chronic-disease rows for 肺结核")
    chronic_other: int = _count("chronic-disease rows for 其他")
    family_doctor_contracts: int = _count("family-doctor contract rows")
    pupils_enrolled: int = _count("enrolment rows of pupils in school (在读); one per living resident aged 3-18, "
                                  "with pupils_not_enrolled")
    pupils_not_enrolled: int = _count("enrolment rows of pupils suspended, dropped out, graduated or transferred")
    monitored_households: int = _count("households under poverty-return monitoring (one row each)")
    collective_households: int = _count("hjxx_hxx rows of collective households (hlbdm 2)")


class TownshipManifest(BaseModel):
    """Everything about a generated township that tests and benchmarks check the pipeline against.

    Sources are keyed by the name of the adapter that reads them (``adapters/README.md``). ``files`` is
    the SQLite file of a SQL source and the folder of a drop-folder source. ``dirty`` counts injected
    anomalies per source and kind; ``expected_rejects`` is how many rows of each source a correct adapter
    dead-letters (the tolerated kinds, duplicates and late older records, are not rejects), and
    ``expected_reasons`` the same per reject reason. ``expected_elderly_review`` counts active residents
    aged 80+ on ``as_of`` whose household-register row is clean, whose death no valid funeral row records,
    and who have no receiving 高龄津贴 record once the newest 更新时间 per record number wins and rejected
    rows are ignored.
    """

    model_config = ConfigDict(frozen=True)

    format_version: int = 2
    seed: int
    as_of: date
    dirty_rate: float
    county_code: str
    township_code: str
    township_name: str
    residents: int
    households: int
    villages: list[Village]
    files: dict[str, str] = Field(
        description="source (adapter name) → path relative to the manifest: the .db file or the drop folder")
    counts: dict[str, int] = Field(description="source → rows written (dirty ones and late copies included)")
    dirty: dict[str, dict[str, int]] = Field(description="source → kind of dirt → rows")
    expected_rejects: dict[str, int] = Field(description="source → rows a correct adapter dead-letters")
    expected_reasons: dict[str, dict[str, int]] = Field(
        description="source → adapter reject reason (invalid_resident_id, missing_field, ...) → rows")
    boundary_residents: dict[str, str] = Field(
        description="turns_80_on_as_of / turns_80_tomorrow / turned_80_yesterday → ID number; "
                    "empty for fewer than 50 residents")
    expected_elderly_review: int
    cross_department: CrossDepartmentTruths

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
