"""The schema registry: stable ids, subjects and versions, compatibility, stores, and the data standards."""

from exchange.registry.schema_registry import (
    DEFAULT_MODE,
    RegisteredSchema,
    SchemaRegistry,
    normalised_json,
    parse_version,
    schema_id,
)
from exchange.registry.standards import register_standards
from exchange.registry.store import MemoryRegistryStore, RegistryStore, VersionRow


def standards_registry(store: RegistryStore | None = None) -> SchemaRegistry:
    """A registry (in memory unless ``store`` is given) holding every data standard from ``schemas/``."""
    registry = SchemaRegistry(store)
    register_standards(registry)
    return registry


__all__ = [
    "DEFAULT_MODE",
    "MemoryRegistryStore",
    "RegisteredSchema",
    "RegistryStore",
    "SchemaRegistry",
    "VersionRow",
    "normalised_json",
    "parse_version",
    "register_standards",
    "schema_id",
    "standards_registry",
]
