"""All department exports of one township, open together: their writers, dirt and sinks, by source."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path

from exchange.township.agriculture import monitoring_dirt
from exchange.township.chronic import chronic_dirt
from exchange.township.civil_affairs import assistance_dirt
from exchange.township.deaths import funerals_dirt, registry_dirt
from exchange.township.dirt import TOLERATED, Rejectable, SourceDirt
from exchange.township.disability import certificates_dirt
from exchange.township.doctors import contracts_dirt
from exchange.township.education import enrolments_dirt
from exchange.township.export_base import OpenExport
from exchange.township.layouts import (
    ASSISTANCE,
    CERTIFICATES,
    CHRONIC_DISEASES,
    ENROLMENTS,
    FAMILY_DOCTORS,
    FUNERALS,
    HJXX_CZRK,
    HJXX_HCYBD,
    HJXX_HXX,
    HJXX_SWZX,
    LAYOUTS,
    MONITORING,
    YL_CBXX,
    Layout,
)
from exchange.township.pensions import pensions_dirt
from exchange.township.register import households_dirt, members_dirt, residents_dirt
from exchange.township.sinks import RowWriter, Sink
from exchange.township.writers_files import CsvExport, DropFolderExport, XlsxExport
from exchange.township.writers_sql import SqlDatabase

# How each source's rows get spoiled (see each department's module); drop folders also get tolerated kinds.
DIRT: dict[str, Callable[[], tuple[Rejectable, ...]]] = {
    HJXX_CZRK.source: residents_dirt, HJXX_HXX.source: households_dirt, HJXX_HCYBD.source: members_dirt,
    HJXX_SWZX.source: registry_dirt, ASSISTANCE.source: assistance_dirt, FUNERALS.source: funerals_dirt,
    YL_CBXX.source: pensions_dirt, CHRONIC_DISEASES.source: chronic_dirt, FAMILY_DOCTORS.source: contracts_dirt,
    CERTIFICATES.source: certificates_dirt, ENROLMENTS.source: enrolments_dirt, MONITORING.source: monitoring_dirt,
}


class Exports(OpenExport):
    """Every source's sink; ``dirt_stream`` gives each source its own random stream for dirt.

    Files of a source are complete only after :meth:`close`.
    """

    def __init__(self, out_dir: Path, as_of: date, rate: float,
                 dirt_stream: Callable[[str], random.Random]) -> None:
        # One SQLite file per path, its tables in the order of LAYOUTS.
        tables: dict[str, list[Layout]] = {}
        for layout in LAYOUTS:
            if layout.table:
                tables.setdefault(layout.path, []).append(layout)
        databases = [SqlDatabase(out_dir / path, layouts) for path, layouts in tables.items()]
        # Spreadsheets carry a document time: the as_of day, so that files depend on the arguments only.
        created = datetime.combine(as_of, time())
        folders: list[DropFolderExport] = [
            XlsxExport(out_dir, layout, created) if layout.suffix == ".xlsx" else CsvExport(out_dir, layout)
            for layout in LAYOUTS if not layout.table
        ]
        writers: dict[str, RowWriter] = {folder.layout.source: folder for folder in folders}
        for database in databases:
            writers.update(database.tables)
        self._exports: list[OpenExport] = [*databases, *folders]
        self.sinks = {layout.source: self._sink(layout, writers[layout.source], rate, dirt_stream)
                      for layout in LAYOUTS}

    @staticmethod
    def _sink(layout: Layout, writer: RowWriter, rate: float, dirt_stream: Callable[[str], random.Random]) -> Sink:
        tolerated = () if layout.table else TOLERATED
        return Sink(layout, writer, SourceDirt(dirt_stream(layout.source), rate, DIRT[layout.source](), tolerated))

    def flush(self) -> None:
        """Write every source's rows of the village just generated."""
        for sink in self.sinks.values():
            sink.flush()

    def close(self) -> None:
        """Finish every file (indexes, last parts)."""
        for export in self._exports:
            export.close()

    def abort(self) -> None:
        """Stop after a failure; partial files are left for inspection."""
        for export in self._exports:
            export.abort()
