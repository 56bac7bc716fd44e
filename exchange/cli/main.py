"""``exchange``: the command group and its small commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from exchange import __version__
from exchange.errors import ExchangeError
from exchange.settings import Settings, load_settings


class ExchangeGroup(click.Group):
    """Turns the project's errors into a one-line message and exit code 1 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ExchangeError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=ExchangeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exchange")
def cli() -> None:
    """Grassroots data exchange bus: departments publish once, staff get pre-filled forms."""


def settings_from(data_dir: Path | None = None, bus: str | None = None, **extra: Any) -> Settings:
    return load_settings(data_dir=data_dir, bus_url=bus, **extra)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
