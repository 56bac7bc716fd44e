"""A deterministic synthetic township: residents, households and every department's export, with known dirt.

Tests, the demo and benchmarks use it as ground truth: :func:`generate_township` writes the exports of
public security, civil affairs, human resources, health, the disabled persons' federation, education and
agriculture in the native layouts of ``adapters/README.md`` (SQLite, CSV and XLSX), all about the same
residents, plus ``township.json``, a :class:`TownshipManifest` saying what a correct pipeline must find.
"""

from exchange.township.generator import generate_township
from exchange.township.manifest import TownshipManifest

__all__ = ["TownshipManifest", "generate_township"]
