"""The SQL state store: entity facts, forms, consumer offsets and checkpoints."""

from exchange.state.store import StateStore

__all__ = ["StateStore"]
