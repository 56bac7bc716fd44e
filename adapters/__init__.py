"""Department adapters: one module per department, each mapping native rows to canonical records."""

from __future__ import annotations

from adapters.base import Adapter, AdapterRun, Rejected
from adapters.civil_affairs import CivilAffairsAssistance
from adapters.public_security import PublicSecurityResidents
from exchange.errors import ConfigError

ADAPTERS: dict[str, type[Adapter]] = {
    adapter.name: adapter for adapter in (PublicSecurityResidents, CivilAffairsAssistance)
}

__all__ = ["ADAPTERS", "Adapter", "AdapterRun", "Rejected", "get_adapter"]


def get_adapter(name: str) -> Adapter:
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise ConfigError(f"no adapter named {name!r}; installed: {', '.join(sorted(ADAPTERS))}") from None
