"""Civil affairs: social assistance (低保, 特困供养, 高龄津贴) and funeral records, from spreadsheet exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.base import DropFolderAdapter
from adapters.fields import (
    coded,
    not_before,
    optional,
    optional_date,
    parse_amount,
    parse_date,
    parse_local_time,
    required,
    resident_id,
)

CIVIL_AFFAIRS_DATE = "%Y-%m-%d"


class CivilAffairsAssistance(DropFolderAdapter):
    name = "civil_affairs"
    department = "CIVIL_AFFAIRS"
    record_type = "assistance"
    description = "Assistance entitlements from civil-affairs exports: a drop folder of .csv/.xlsx files, or one file"
    # civil_affairs/ itself: township data folders written before the funerals export had a folder of its own.
    folders = ("civil_affairs/assistance", "civil_affairs")

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        start = parse_date(row, "开始日期", "start_date", CIVIL_AFFAIRS_DATE)
        end = optional_date(row, "结束日期", "end_date", CIVIL_AFFAIRS_DATE)
        not_before(end, start, "end_date (结束日期)", "start_date")
        return {
            "meta": self.meta(required(row, "记录编号", "record_id"), parse_local_time(row, "更新时间", "updated"),
                              ingest_time),
            "resident_id": resident_id(row, "身份证号"),
            "programme": coded(row, "救助类别", "programme", "assistance_programme"),
            "status": coded(row, "状态", "status", "assistance_status"),
            "start_date": start,
            "end_date": end,
            "monthly_amount": parse_amount(row, "月发放金额", "monthly_amount"),
            "residence_address": optional(row, "居住地址"),  # older exports lack the column
        }


class CivilAffairsFunerals(DropFolderAdapter):
    name = "civil_affairs_funerals"
    department = "CIVIL_AFFAIRS"
    record_type = "funeral"
    description = "Funeral home records (殡葬服务记录) from civil-affairs exports: a drop folder of .xlsx/.csv files"
    folders = ("civil_affairs/funerals",)

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        number = required(row, "火化证编号", "record_number")
        death = parse_date(row, "死亡日期", "death_date", CIVIL_AFFAIRS_DATE)
        cremation = parse_date(row, "火化日期", "cremation_or_burial_date", CIVIL_AFFAIRS_DATE)
        not_before(cremation, death, "cremation_or_burial_date (火化日期)", "death_date")
        return {
            "meta": self.meta(number, parse_local_time(row, "更新时间", "updated"), ingest_time),
            "resident_id": resident_id(row, "身份证号"),
            "death_date": death,
            "cremation_or_burial_date": cremation,
            "funeral_home_name": required(row, "殡仪馆", "funeral_home_name"),
            "record_number": number,
        }
