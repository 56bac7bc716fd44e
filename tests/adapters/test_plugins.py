"""Third-party adapters registered through the `exchange.adapters` entry-point group."""

from __future__ import annotations

import json
import logging
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters import BUILT_IN, discover
from adapters.civil_affairs import CivilAffairsAssistance
from exchange.cli import cli


class HealthFollowUps(CivilAffairsAssistance):
    """A stand-in third-party adapter (a real one lives in its own package)."""

    name = "health_follow_ups"


def plugin(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group="exchange.adapters")


def test_a_registered_adapter_appears_beside_the_built_in_ones() -> None:
    """An entry point naming an Adapter subclass is loaded under its adapter name."""
    found = discover([plugin("health", f"{__name__}:HealthFollowUps")])
    assert found["health_follow_ups"] is HealthFollowUps
    assert {a.name for a in BUILT_IN} <= set(found)


def test_broken_plugins_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A plugin that cannot load, is not an adapter or takes a built-in's name never replaces anything."""
    with caplog.at_level(logging.WARNING, logger="adapters"):
        found = discover([plugin("missing", "no_such_package.module:Thing"),
                          plugin("wrong", "pathlib:Path"),
                          plugin("clash", "adapters.civil_affairs:CivilAffairsAssistance")])
    assert found == {a.name: a for a in BUILT_IN}
    assert "failed to load" in caplog.text
    assert "not an Adapter" in caplog.text
    assert "reuses the name" in caplog.text


def test_the_cli_lists_installed_adapters(tmp_path: Path) -> None:
    """`exchange adapters list` shows every built-in adapter (plugins join them the same way)."""
    result = CliRunner().invoke(cli, ["adapters", "list", "--json", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert {"public_security", "civil_affairs"} <= {row["name"] for row in json.loads(result.output)}
