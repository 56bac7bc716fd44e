"""End to end on a real Kafka-protocol broker: the demo gives the same forms as on the embedded log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from brokers import TansuBroker
from servers import EXCHANGE, clean_env
from sqlalchemy import create_engine, select

from exchange.state.tables import forms

DEMO = ["demo", "--residents", "400", "--seed", "23", "--no-serve", "--json"]


def demo(tmp_path: Path, name: str, *extra: str, **env: str) -> dict[str, Any]:
    result = subprocess.run([*EXCHANGE, *DEMO, "--data-dir", str(tmp_path / name), *extra], cwd=tmp_path,
                            env=clean_env(**env), capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def form_contents(state_db: Path) -> list[tuple[Any, ...]]:
    """Every form with its values and their sources (not the times the demo happened to run at)."""
    engine = create_engine(f"sqlite:///{state_db}")
    with engine.connect() as conn:
        rows = conn.execute(select(forms)).all()
    engine.dispose()

    def stable(value: Any) -> Any:
        """``value`` without the moments this run's adapters read the records at."""
        if isinstance(value, dict):
            return {k: stable(v) for k, v in value.items() if k != "received_time"}
        if isinstance(value, list):
            return [stable(v) for v in value]
        return value

    def field(f: dict[str, Any]) -> tuple[Any, ...]:
        return (f["name"], json.dumps(stable(f["value"]), sort_keys=True),
                json.dumps(stable(f["provenance"]), sort_keys=True))

    return sorted((r.process_id, r.entity_key, r.status, tuple(field(f) for f in r.fields)) for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_demo_on_kafka_gives_the_same_forms_as_on_the_embedded_log(tmp_path: Path, client: str) -> None:
    """Same township, two transports: identical forms, provenance, dead letters and counts."""
    embedded = demo(tmp_path, "embedded")
    broker = TansuBroker(tmp_path).start()
    try:
        kafka = demo(tmp_path, "kafka", "--bus", broker.url, EXCHANGE_KAFKA_CLIENT=client)
    finally:
        broker.stop()
    assert kafka["this_run"]["published"] == embedded["this_run"]["published"]
    assert kafka["total"] == embedded["total"]
    expected = form_contents(tmp_path / "embedded" / "state.db")
    assert expected
    assert form_contents(tmp_path / "kafka" / "state.db") == expected
