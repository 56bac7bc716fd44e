"""Disabled persons' federation: second-generation disability certificates (残疾人证), from spreadsheet exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from adapters.base import DropFolderAdapter
from adapters.code_tables import code_table
from adapters.fields import (
    Rejected,
    coded,
    not_before,
    parse_date,
    parse_local_time,
    parsed_resident_id,
    required,
    text,
    to_date,
)

FEDERATION_DATE = "%Y-%m-%d"
NO_FIXED_TERM = {"长期", "永久"}  # 有效期至 of a certificate with no fixed term


class DisabledPersonsCertificates(DropFolderAdapter):
    name = "disabled_persons"
    department = "DISABLED_PERSONS_FEDERATION"
    record_type = "disability_certificate"
    description = "Disability certificates (残疾人证) from federation exports: a drop folder of .xlsx/.csv files"
    folders = ("disabled_persons",)

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        holder = parsed_resident_id(row, "身份证号").number
        disability_type = coded(row, "残疾类别", "disability_type", "disability_type")
        grade = coded(row, "残疾等级", "disability_grade", "disability_grade")
        number = certificate_number(row, holder, disability_type, grade)
        issued = parse_date(row, "发证日期", "issued_date", FEDERATION_DATE)
        valid_until = term_end(row)
        not_before(valid_until, issued, "valid_until (有效期至)", "issued_date")
        return {
            "meta": self.meta(number, parse_local_time(row, "更新时间", "updated"), ingest_time),
            "resident_id": holder,
            "certificate_number": number,
            "disability_type": disability_type,
            "disability_grade": grade,
            "issued_date": issued,
            "valid_until": valid_until,
            "status": coded(row, "证件状态", "status", "certificate_status"),
        }


def certificate_number(row: dict[str, Any], holder: str, disability_type: str, grade: str) -> str:
    """The 20-character number: the holder's ID number, the category digit, the grade digit."""
    number = required(row, "残疾人证号", "certificate_number").upper()
    if len(number) != 20 or number[:18] != holder:
        raise Rejected("inconsistent_certificate",
                       f"certificate_number (残疾人证号) {number} is not the holder's ID number {holder} followed "
                       "by the category and grade digits")
    in_number = (code_table("disability_type").lookup(number[18]), code_table("disability_grade").lookup(number[19]))
    if in_number != (disability_type, grade):
        raise Rejected("inconsistent_certificate",
                       f"certificate_number (残疾人证号) {number} ends in {number[18:]}, which disagrees with "
                       f"残疾类别 {disability_type} and 残疾等级 {grade}")
    return number


def term_end(row: dict[str, Any]) -> date | None:
    """有效期至: a date, or None for a certificate with no fixed term (empty or 长期)."""
    value = text(row, "有效期至")
    if not value or value in NO_FIXED_TERM:
        return None
    return to_date(value, "有效期至", "valid_until", FEDERATION_DATE)
