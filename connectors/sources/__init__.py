"""Department sources: where native rows come from (SQL tables, spreadsheet exports)."""

from connectors.sources.base import CheckpointStore, FileCounts, Source, SourceBatch, SourceRow

__all__ = ["CheckpointStore", "FileCounts", "Source", "SourceBatch", "SourceRow"]
