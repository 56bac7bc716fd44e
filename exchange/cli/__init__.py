"""The ``exchange`` command line (one click group)."""

from exchange.cli import commands, demo, keys, operations, schemas, users  # noqa: F401 - importing registers the commands on the group
from exchange.cli.main import cli


def main() -> None:
    cli()


__all__ = ["cli", "main"]
