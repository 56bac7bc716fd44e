"""Time in the bus: epoch milliseconds for storage, China local dates for the rules that people see."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8), "CST")  # China has one time zone and no daylight saving


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def today_local() -> date:
    """Today's date in China (a resident turns 80 on their birthday there, not in UTC)."""
    return datetime.now(CHINA_TIME).date()
