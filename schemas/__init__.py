"""The core data standards: Avro schemas, the topic list and collaborative-process definitions (data only)."""

from pathlib import Path

SCHEMAS_DIR = Path(__file__).resolve().parent
AVRO_DIR = SCHEMAS_DIR / "avro"
PROCESSES_DIR = SCHEMAS_DIR / "processes"
TOPICS_FILE = SCHEMAS_DIR / "topics.yaml"
