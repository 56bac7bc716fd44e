"""Civil affairs social assistance (低保, 特困供养, 高龄津贴) from the department's CSV or Excel exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.base import Adapter, Rejected, coded, parse_amount, parse_date, parse_local_time, required, resident_id
from connectors.sources.drop_folder import DropFolderSource


class CivilAffairsAssistance(Adapter):
    name = "civil_affairs"
    department = "CIVIL_AFFAIRS"
    record_type = "assistance"
    description = "Assistance entitlements from civil-affairs exports: a drop folder of .csv/.xlsx files, or one file"
    source_kind = "drop folder"

    def owns_source(self, source_id: str) -> bool:
        return source_id.startswith("csv:")

    def source(self, url: str) -> DropFolderSource:
        return DropFolderSource(url.removeprefix("file://"))

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        start = parse_date(row, "开始日期", "start_date", "%Y-%m-%d")
        end = parse_date(row, "结束日期", "end_date", "%Y-%m-%d") if row.get("结束日期") else None
        if end is not None and end < start:
            raise Rejected("invalid_date", f"end_date (结束日期) {end} is before start_date {start}")
        return {
            "meta": self.meta(required(row, "记录编号", "record_id"), parse_local_time(row, "更新时间", "updated"),
                              ingest_time),
            "resident_id": resident_id(row, "身份证号"),
            "programme": coded(row, "救助类别", "programme", "assistance_programme"),
            "status": coded(row, "状态", "status", "assistance_status"),
            "start_date": start,
            "end_date": end,
            "monthly_amount": parse_amount(row, "月发放金额", "monthly_amount"),
        }
