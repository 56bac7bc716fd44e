"""A deterministic synthetic township: residents, households and two department exports with known dirt.

Tests, the demo and benchmarks use it as ground truth: :func:`generate_township` writes the household
register of public security (SQLite) and the assistance export of civil affairs (CSV) in their native
layouts, plus ``township.json``, a :class:`TownshipManifest` saying what a correct pipeline must find.
"""

from exchange.township.generator import generate_township
from exchange.township.manifest import TownshipManifest

__all__ = ["TownshipManifest", "generate_township"]
