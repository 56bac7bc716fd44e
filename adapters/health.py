"""Health: chronic disease management (GB18030 CSV) and family doctor contracts, from spreadsheet exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.base import DropFolderAdapter
from adapters.fields import (
    coded,
    not_before,
    optional_date,
    parse_date,
    parse_local_time,
    person_name,
    required,
    resident_id,
)

HEALTH_DATE = "%Y/%m/%d"


class HealthChronicDiseases(DropFolderAdapter):
    name = "health_chronic_diseases"
    department = "HEALTH"
    record_type = "chronic_disease"
    description = "Chronic disease management (慢病管理) from public-health exports: a drop folder of .csv (GB18030)"
    folders = ("health/chronic_diseases",)

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        disease = coded(row, "疾病", "disease", "chronic_disease")
        diagnosed = parse_date(row, "确诊日期", "diagnosed_date", HEALTH_DATE)
        follow_up = optional_date(row, "末次随访日期", "last_follow_up_date", HEALTH_DATE)
        not_before(follow_up, diagnosed, "last_follow_up_date (末次随访日期)", "diagnosed_date")
        # One patient file (档案) holds each of the patient's managed diseases.
        record_id = f"{required(row, '档案编号', 'record_id')}/{disease}"
        return {
            "meta": self.meta(record_id, parse_local_time(row, "更新时间", "updated"), ingest_time),
            "resident_id": resident_id(row, "身份证号"),
            "disease": disease,
            "diagnosed_date": diagnosed,
            "managed_by": required(row, "管理机构", "managed_by"),
            "last_follow_up_date": follow_up,
            "status": coded(row, "管理状态", "status", "chronic_disease_status"),
        }


class HealthFamilyDoctors(DropFolderAdapter):
    name = "health_family_doctors"
    department = "HEALTH"
    record_type = "family_doctor_contract"
    description = "Family doctor contracts (家庭医生签约) from health exports: a drop folder of .csv/.xlsx files"
    folders = ("health/family_doctors",)

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        signed = parse_date(row, "签约日期", "signed_date", HEALTH_DATE)
        expiry = parse_date(row, "到期日期", "expiry_date", HEALTH_DATE)
        not_before(expiry, signed, "expiry_date (到期日期)", "signed_date")
        return {
            "meta": self.meta(required(row, "签约编号", "record_id"), parse_local_time(row, "更新时间", "updated"),
                              ingest_time),
            "resident_id": resident_id(row, "身份证号"),
            "team_name": required(row, "团队名称", "team_name"),
            "doctor_name": person_name(row, "签约医生", "doctor_name"),
            "signed_date": signed,
            "expiry_date": expiry,
            "service_package": coded(row, "服务包", "service_package", "service_package"),
        }
