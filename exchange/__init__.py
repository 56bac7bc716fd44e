"""Grassroots data exchange bus: departments publish once, staff get pre-filled forms."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("grassroots-exchange")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
