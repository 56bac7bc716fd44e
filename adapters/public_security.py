"""Public security household registry (常住人口, table ``hjxx_czrk``): residents, read incrementally."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.base import Adapter, Rejected, coded, parse_date, parse_local_time, parsed_resident_id, required
from connectors.sources.sql_table import SqlTableSource
from exchange.errors import ValidationError
from exchange.validation import normalise_name


def person_name(row: dict[str, Any], column: str) -> str:
    try:
        return normalise_name(required(row, column, "name"))
    except ValidationError as exc:
        raise Rejected("invalid_name", f"name ({column}): {exc}") from exc


class PublicSecurityResidents(Adapter):
    name = "public_security"
    department = "PUBLIC_SECURITY"
    record_type = "resident"
    description = "Household registry residents from a SQL table (hjxx_czrk), incremental by gxsj, id"
    source_kind = "sql table"

    def owns_source(self, source_id: str) -> bool:
        return source_id.startswith("sql:") and source_id.endswith("#hjxx_czrk")

    def source(self, url: str) -> SqlTableSource:
        if "://" not in url:  # a bare path to the registry's SQLite export
            url = f"sqlite:///{url}"
        # Transactions in the registry commit within a minute of their gxsj stamp.
        return SqlTableSource(url, "hjxx_czrk", timestamp_column="gxsj", id_column="id", grace_seconds=60,
                              deleted_column="scbz")  # 删除标志: registry exports that keep withdrawn rows

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        identity = parsed_resident_id(row, "gmsfhm")
        number = identity.number
        birth_date = parse_date(row, "csrq", "birth_date", "%Y%m%d")
        if birth_date != identity.birth_date:
            raise Rejected("inconsistent_birth_date", f"birth_date (csrq) {birth_date} differs from the ID number's")
        coded(row, "mzdm", "ethnicity", "gb3304_ethnicity")  # the code itself goes on the bus
        return {
            "meta": self.meta(str(row["id"]), parse_local_time(row, "gxsj", "updated"), ingest_time),
            "resident_id": number,
            "name": person_name(row, "xm"),
            "sex": coded(row, "xbdm", "sex", "gb2261_sex"),
            "ethnicity": required(row, "mzdm", "ethnicity"),
            "birth_date": birth_date,
            "household_id": required(row, "hh", "household_id"),
            "relationship_to_head": coded(row, "yhzgxdm", "relationship_to_head", "gb4761_relationship"),
            "registered_address": required(row, "zz", "registered_address"),
            "division_code": required(row, "xzqhdm", "division_code"),
            "grid_code": required(row, "wgdm", "grid_code"),
            "status": coded(row, "ryzt", "status", "hukou_status"),
        }
