"""Agriculture and rural affairs: households under poverty-return monitoring (防返贫监测), from spreadsheet exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.base import DropFolderAdapter
from adapters.fields import (
    coded,
    coded_list,
    optional_amount,
    optional_date,
    parse_date,
    parse_local_time,
    required,
    resident_id,
)

AGRICULTURE_DATE = "%Y-%m-%d"


class AgriculturePovertyMonitoring(DropFolderAdapter):
    name = "agriculture"
    department = "AGRICULTURE_RURAL_AFFAIRS"
    record_type = "poverty_monitoring"
    description = "Households under poverty-return monitoring (防返贫监测): a drop folder of .xlsx/.csv files"
    folders = ("agriculture",)

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        household_id = required(row, "户编号", "household_id")
        resident_id(row, "户主身份证号", "head_resident_id")  # checked, not carried: the household record has it
        return {
            "meta": self.meta(household_id, parse_local_time(row, "更新时间", "updated"), ingest_time),
            "household_id": household_id,
            "monitoring_category": coded(row, "监测对象类别", "monitoring_category", "monitoring_category"),
            "risk_types": coded_list(row, "风险类型", "risk_types", "risk_type"),
            "identified_date": parse_date(row, "识别日期", "identified_date", AGRICULTURE_DATE),
            "status": coded(row, "监测状态", "status", "monitoring_status"),
            # A household's net income can be negative (a failed harvest, a loss-making business).
            "per_capita_net_income": optional_amount(row, "家庭人均纯收入", "per_capita_net_income", negative=True),
            "last_visit_date": optional_date(row, "最近走访日期", "last_visit_date", AGRICULTURE_DATE),
        }
