"""Human resources and social security: basic pension scheme participation (``human_resources.db``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.base import SqlTableAdapter
from adapters.fields import Rejected, coded, optional_amount, parse_date, parse_local_time, resident_id


class HumanResourcesPensions(SqlTableAdapter):
    name = "human_resources"
    department = "HUMAN_RESOURCES_SOCIAL_SECURITY"
    record_type = "pension"
    description = "Pension scheme participation (养老保险参保) from a SQL table (yl_cbxx), incremental by gxsj, id"
    table = "yl_cbxx"

    def to_record(self, row: dict[str, Any], ingest_time: datetime) -> dict[str, Any]:
        status = coded(row, "cbzt", "status", "pension_status")
        pension = optional_amount(row, "yljje", "monthly_pension")
        if status == "RECEIVING" and pension is None:
            raise Rejected("missing_field", "monthly_pension (yljje) is empty, but the status (cbzt) is RECEIVING")
        return {
            "meta": self.meta(str(row["id"]), parse_local_time(row, "gxsj", "updated"), ingest_time),
            "resident_id": resident_id(row, "sfzhm"),
            "scheme": coded(row, "xzlx", "scheme", "pension_scheme"),
            "status": status,
            # Only a pension being paid is one: an amount left on a suspended or ended row is history.
            "monthly_pension": pension if status == "RECEIVING" else None,
            "since_date": parse_date(row, "ksrq", "since_date", "%Y%m%d"),
        }
