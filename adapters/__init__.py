"""Department adapters: one module per department, each mapping native rows to canonical records.

The adapters shipped here are built in; others register through the ``exchange.adapters`` entry-point
group of their own package (``name = "package.module:AdapterClass"``) and appear beside them.
"""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points

from adapters.agriculture import AgriculturePovertyMonitoring
from adapters.base import Adapter, AdapterRun, Rejected
from adapters.civil_affairs import CivilAffairsAssistance, CivilAffairsFunerals
from adapters.disabled_persons import DisabledPersonsCertificates
from adapters.education import EducationEnrolments
from adapters.health import HealthChronicDiseases, HealthFamilyDoctors
from adapters.human_resources import HumanResourcesPensions
from adapters.public_security import (
    PublicSecurityDeaths,
    PublicSecurityHouseholdMembers,
    PublicSecurityHouseholds,
    PublicSecurityResidents,
)
from exchange.errors import ConfigError

ENTRY_POINT_GROUP = "exchange.adapters"
# In the order of adapters/README.md: one per department record type.
BUILT_IN: tuple[type[Adapter], ...] = (
    PublicSecurityResidents,
    PublicSecurityHouseholds,
    PublicSecurityHouseholdMembers,
    PublicSecurityDeaths,
    CivilAffairsAssistance,
    CivilAffairsFunerals,
    HumanResourcesPensions,
    HealthChronicDiseases,
    HealthFamilyDoctors,
    DisabledPersonsCertificates,
    EducationEnrolments,
    AgriculturePovertyMonitoring,
)

log = logging.getLogger(__name__)

__all__ = ["ADAPTERS", "ENTRY_POINT_GROUP", "Adapter", "AdapterRun", "Rejected", "discover", "get_adapter"]


def discover(plugins: list[EntryPoint] | None = None) -> dict[str, type[Adapter]]:
    """Built-in adapters and those registered under ``exchange.adapters``, by name.

    A plugin that fails to load, is not an Adapter, or reuses a taken name is skipped with a warning
    naming it: one broken package must not take the bus down.
    """
    found: dict[str, type[Adapter]] = {adapter.name: adapter for adapter in BUILT_IN}
    for plugin in plugins if plugins is not None else list(entry_points(group=ENTRY_POINT_GROUP)):
        try:
            adapter = plugin.load()
        except Exception as exc:  # any import-time failure of a third-party package
            log.warning("adapter plugin %s (%s) failed to load: %s", plugin.name, plugin.value, exc)
            continue
        if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
            log.warning("adapter plugin %s (%s) is not an Adapter subclass; skipped", plugin.name, plugin.value)
        elif adapter.name in found:
            log.warning("adapter plugin %s reuses the name %r; skipped", plugin.value, adapter.name)
        else:
            found[adapter.name] = adapter
    return found


ADAPTERS: dict[str, type[Adapter]] = discover()


def get_adapter(name: str) -> Adapter:
    try:
        return ADAPTERS[name]()
    except KeyError:
        raise ConfigError(f"no adapter named {name!r}; installed: {', '.join(sorted(ADAPTERS))}") from None
