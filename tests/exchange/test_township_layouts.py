"""Every department's export of the synthetic township, laid out as adapters/README.md says: SQL tables
with their columns and index, drop folders with their files, headers and encodings, split at village
boundaries when large, checked with an independent reader (``township_files``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest
from township_files import AS_OF, FOLDERS, folder_rows, sql_rows, sql_schema

from connectors.sources.spreadsheets import read_rows
from exchange.township import TownshipManifest, generate_township, writers_files

# The contract, spelled out here rather than imported, so a change to the generator fails these tests.
TABLES = {
    "hjxx_hxx": ["id", "hh", "hzgmsfhm", "hlbdm", "ssxq_sheng", "ssxq_shi", "ssxq_xian", "ssxq_xiang", "ssxq_cun",
                 "xxdz", "xzqhdm", "wgdm", "hrs", "gxsj"],
    "hjxx_hcybd": ["id", "hh", "gmsfhm", "yhzgxdm", "qrrq", "qcrq", "gxsj"],
    "hjxx_swzx": ["id", "gmsfhm", "xm", "swrq", "swdd", "swyydm", "swzmbh", "zxrq", "gxsj"],
    "yl_cbxx": ["id", "sfzhm", "xm", "xzlx", "cbzt", "yljje", "ksrq", "gxsj"],
}
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TownshipManifest]:
    """10,000 residents without dirt."""
    out = tmp_path_factory.mktemp("town")
    return out, generate_township(out, 10_000, seed=7, as_of=AS_OF, dirty_rate=0.0)


# -- SQL tables and drop folders -------------------------------------------------------------------------

@pytest.mark.parametrize(("database", "name"), [
    ("public_security.db", "hjxx_hxx"), ("public_security.db", "hjxx_hcybd"), ("public_security.db", "hjxx_swzx"),
    ("human_resources.db", "yl_cbxx"),
])
def test_sql_tables_have_the_contracted_columns_and_index(town, database, name):
    """Each SQL table has exactly the contracted columns, increasing ids and an index on (gxsj, id)."""
    out, _ = town
    columns, indexed = sql_schema(out, database, name)
    assert columns == TABLES[name]
    assert ["gxsj", "id"] in indexed
    rows = sql_rows(out, database, name)
    assert [row["id"] for row in rows] == list(range(1, len(rows) + 1))
    assert all(STAMP.fullmatch(row["gxsj"]) and row["gxsj"] < AS_OF.isoformat() for row in rows)


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_drop_folders_hold_one_file_with_the_contracted_header_and_encoding(town, name):
    """Each drop folder holds one file in the contracted format, header and encoding, all rows counted."""
    out, manifest = town
    file_name, encoding, header = FOLDERS[name]
    assert [path.name for path in (out / name).iterdir()] == [file_name]
    raw = (out / name / file_name).read_bytes()
    if encoding is None:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
        assert next(book.worksheets[0].iter_rows(values_only=True)) == tuple(header)
        book.close()
    else:
        assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
        if encoding == "gb18030":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
        assert next(csv.reader(io.StringIO(raw.decode(encoding)))) == header
        assert b"\r\n" in raw
    rows = folder_rows(out, name)
    source = next(source for source, path in manifest.files.items() if path == name)
    assert len(rows) == manifest.counts[source] > 0
    assert all(STAMP.fullmatch(row["更新时间"]) and row["更新时间"] < AS_OF.isoformat() for row in rows)


def test_the_connector_reads_every_drop_folder_file_as_written(town):
    """The drop-folder connector's spreadsheet reader gets every row, with dates as text it can parse."""
    out, _ = town
    for name in FOLDERS:
        for path in (out / name).iterdir():
            assert [row.data for row in read_rows(path.read_bytes(), path.name)] == folder_rows(out, name)


def test_large_exports_are_split_at_village_boundaries(tmp_path, monkeypatch):
    """Past the rows per file an export continues in a numbered part; no village spans two parts."""
    monkeypatch.setattr(writers_files, "CSV_ROWS_PER_FILE", 300)
    monkeypatch.setattr(writers_files, "XLSX_ROWS_PER_FILE", 40)
    manifest = generate_township(tmp_path, 3000, seed=7, as_of=AS_OF, dirty_rate=0.0)
    split = set()
    for name, (file_name, _, _) in FOLDERS.items():
        stem, suffix = file_name.split(".")
        parts = sorted(path.name for path in (tmp_path / name).iterdir())
        if len(parts) > 1:
            split.add(name)
            assert parts == [f"{stem}-{n:03d}.{suffix}" for n in range(1, len(parts) + 1)], name
        else:
            assert parts == [file_name]
        source = next(source for source, path in manifest.files.items() if path == name)
        assert len(folder_rows(tmp_path, name)) == manifest.counts[source]
    assert {"education", "health/family_doctors", "disabled_persons"} <= split
    village_of = {row["gmsfhm"]: row["xzqhdm"] for row in sql_rows(tmp_path, "public_security.db", "hjxx_czrk")}
    seen: set[str] = set()
    for path in sorted((tmp_path / "education").iterdir()):
        rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
        villages = {village_of[row["身份证号"]] for row in rows}
        assert not villages & seen, path.name
        seen |= villages
