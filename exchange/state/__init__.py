"""The SQL state store: entity facts, forms, consumer offsets and source watermarks."""

from exchange.state.store import StateStore

__all__ = ["StateStore"]
