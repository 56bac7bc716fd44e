"""Education: student enrolments (学籍) from the student status system's CSV exports."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from adapters.base import DropFolderAdapter
from adapters.fields import (
    Rejected,
    coded,
    digits,
    parse_bool,
    parse_int,
    parse_local_time,
    required,
    resident_id,
)

ACADEMIC_YEAR = re.compile(r"(\d{4})-(\d{4})")


class EducationEnrolments(DropFolderAdapter):
    name = "education"
    department = "EDUCATION"
    record_type = "enrolment"
    description = "Student enrolments (学籍) from education exports: a drop folder of .csv/.xlsx files"
    folders = ("education",)

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        student = resident_id(row, "身份证号")
        student_number = required(row, "全国学籍号", "student_number").upper()
        if student_number != f"G{student}":
            raise Rejected("inconsistent_student_number",
                           f"student_number (全国学籍号) {student_number} is not G followed by the ID number {student}")
        school_code = digits(row, "学校标识码", "school_code", 10, "invalid_school_code")
        year = academic_year(row)
        return {
            "meta": self.meta(f"{student_number}/{school_code}/{year}", parse_local_time(row, "更新时间", "updated"),
                              ingest_time),
            "resident_id": student,
            "school_name": required(row, "学校名称", "school_name"),
            "school_code": school_code,
            "stage": coded(row, "学段", "stage", "school_stage"),
            "grade": parse_int(row, "年级", "grade", 1, 9, "invalid_grade"),
            "status": coded(row, "学籍状态", "status", "enrolment_status"),
            "academic_year": year,
            "boarding": parse_bool(row, "是否寄宿", "boarding"),
        }


def academic_year(row: dict[str, Any]) -> str:
    """学年 as two consecutive years joined by a hyphen, e.g. 2025-2026."""
    value = required(row, "学年", "academic_year")
    match = ACADEMIC_YEAR.fullmatch(value)
    if match is None or int(match[2]) != int(match[1]) + 1:
        raise Rejected("invalid_academic_year", f"academic_year (学年) is not two consecutive years like "
                                                f"2025-2026: {value!r}")
    return value
