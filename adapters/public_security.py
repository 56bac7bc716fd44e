"""Public security household registry (``public_security.db``): residents, households, memberships, deaths.

Each table is read incrementally by ``(gxsj, id)``; see adapters/README.md for the columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.base import SqlTableAdapter
from adapters.fields import (
    Rejected,
    coded,
    digits,
    not_before,
    optional_date,
    parse_date,
    parse_int,
    parse_local_time,
    parsed_resident_id,
    person_name,
    required,
    resident_id,
)

REGISTRY_DATE = "%Y%m%d"


class PublicSecurityResidents(SqlTableAdapter):
    name = "public_security"
    department = "PUBLIC_SECURITY"
    record_type = "resident"
    description = "Household registry residents from a SQL table (hjxx_czrk), incremental by gxsj, id"
    table = "hjxx_czrk"
    deleted_column = "scbz"  # 删除标志: registry exports that keep withdrawn rows

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        identity = parsed_resident_id(row, "gmsfhm")
        number = identity.number
        birth_date = parse_date(row, "csrq", "birth_date", REGISTRY_DATE)
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


class PublicSecurityHouseholds(SqlTableAdapter):
    name = "public_security_households"
    department = "PUBLIC_SECURITY"
    record_type = "household"
    description = "Registered households from a SQL table (hjxx_hxx), incremental by gxsj, id"
    table = "hjxx_hxx"

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        division_code = digits(row, "xzqhdm", "division_code", 12, "invalid_division_code")
        return {
            "meta": self.meta(str(row["id"]), parse_local_time(row, "gxsj", "updated"), ingest_time),
            "household_id": required(row, "hh", "household_id"),
            "head_resident_id": resident_id(row, "hzgmsfhm", "head_resident_id"),
            "address": {
                "province": required(row, "ssxq_sheng", "address.province"),
                "city": required(row, "ssxq_shi", "address.city"),
                "county": required(row, "ssxq_xian", "address.county"),
                "township": required(row, "ssxq_xiang", "address.township"),
                "village": required(row, "ssxq_cun", "address.village"),
                "division_code": division_code,
                "detail": required(row, "xxdz", "address.detail"),
            },
            "division_code": division_code,
            "grid_code": required(row, "wgdm", "grid_code"),
            "household_type": coded(row, "hlbdm", "household_type", "household_type"),
            "member_count": parse_int(row, "hrs", "member_count", 0, 10_000, "invalid_number"),
        }


class PublicSecurityHouseholdMembers(SqlTableAdapter):
    name = "public_security_members"
    department = "PUBLIC_SECURITY"
    record_type = "household_member"
    description = "Household memberships (births, moves, deaths) from a SQL table (hjxx_hcybd), incremental by gxsj, id"
    table = "hjxx_hcybd"

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        since = parse_date(row, "qrrq", "since_date", REGISTRY_DATE)
        until = optional_date(row, "qcrq", "until_date", REGISTRY_DATE)
        not_before(until, since, "until_date (qcrq)", "since_date")
        return {
            "meta": self.meta(str(row["id"]), parse_local_time(row, "gxsj", "updated"), ingest_time),
            "household_id": required(row, "hh", "household_id"),
            "resident_id": resident_id(row, "gmsfhm"),
            "relationship_to_head": coded(row, "yhzgxdm", "relationship_to_head", "gb4761_relationship"),
            "since_date": since,
            "until_date": until,
        }


class PublicSecurityDeaths(SqlTableAdapter):
    name = "public_security_deaths"
    department = "PUBLIC_SECURITY"
    record_type = "death"
    description = "Registered deaths (死亡注销) from a SQL table (hjxx_swzx), incremental by gxsj, id"
    table = "hjxx_swzx"

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        identity = parsed_resident_id(row, "gmsfhm")
        death_date = parse_date(row, "swrq", "death_date", REGISTRY_DATE)
        if death_date < identity.birth_date:
            raise Rejected("invalid_date", f"death_date (swrq) {death_date} is before the birth date in the ID "
                                           f"number ({identity.birth_date})")
        cancelled = optional_date(row, "zxrq", "household_cancellation_date", REGISTRY_DATE)
        not_before(cancelled, death_date, "household_cancellation_date (zxrq)", "death_date")
        return {
            "meta": self.meta(str(row["id"]), parse_local_time(row, "gxsj", "updated"), ingest_time),
            "resident_id": identity.number,
            "death_date": death_date,
            "death_place": required(row, "swdd", "death_place"),
            "cause_category": coded(row, "swyydm", "cause_category", "death_cause"),
            "death_certificate_number": required(row, "swzmbh", "death_certificate_number"),
            "household_cancellation_date": cancelled,
        }
