"""Acceptance: Confluent's own registry client, serializer and deserializer against `exchange serve`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from servers import EXCHANGE, clean_env, free_port, running

from exchange.codec import AvroCodec
from exchange.registry import SchemaRegistry
from exchange.registry.sql_store import SqlRegistryStore
from exchange.state import StateStore

SUBJECT = "civil-affairs.assistance-value"
CONTEXT = SerializationContext("civil-affairs.assistance", MessageField.VALUE)
MOMENT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp_path = tmp_path_factory.mktemp("registry")
    port = free_port()
    with running(["serve", "--port", str(port)], tmp_path, port, clean_env(EXCHANGE_DATA_DIR=str(tmp_path))) as base:
        yield base, tmp_path


@pytest.fixture
def client(server: tuple[str, Path]) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": f"{server[0]}/registry"}) as client:
        yield client


@pytest.fixture
def our_registry(server: tuple[str, Path]) -> Iterator[SchemaRegistry]:
    """The registry as another bus process sees it: the same state store as the server."""
    store = StateStore(f"sqlite:///{server[1] / 'state.db'}")
    yield SchemaRegistry(SqlRegistryStore(store.engine))
    store.close()


def assistance() -> dict[str, Any]:
    return {
        "meta": {"source_department": "CIVIL_AFFAIRS", "source_record_id": "MZ7", "event_time": MOMENT,
                 "ingest_time": MOMENT, "operation": "UPSERT"},
        "resident_id": "11010519491231002X", "programme": "SUBSISTENCE_ALLOWANCE", "status": "ACTIVE",
        "start_date": date(2025, 1, 1), "end_date": None, "monthly_amount": Decimal("650.00"),
        "residence_address": None,
    }


def test_the_data_standards_are_registered_at_start(client: SchemaRegistryClient) -> None:
    """Every topic's subject is there, and Resident has its released v1 and current v2."""
    subjects = client.get_subjects()
    assert SUBJECT in subjects
    assert "public-security.residents-value" in subjects
    assert client.get_versions("public-security.residents-value") == [1, 2]
    assert client.get_compatibility() == "BACKWARD_TRANSITIVE"


def test_confluent_serializer_output_is_read_by_our_codec(
    client: SchemaRegistryClient, our_registry: SchemaRegistry
) -> None:
    """Bytes from AvroSerializer (with the registered standard) decode with our codec."""
    latest = client.get_latest_version(SUBJECT)
    serializer = AvroSerializer(client, latest.schema.schema_str)
    payload = serializer(assistance(), CONTEXT)
    assert payload[1:5] == latest.schema_id.to_bytes(4, "big")
    writer, record = AvroCodec(our_registry).decode(payload)
    assert writer.id == latest.schema_id
    assert record == assistance()


def test_our_codec_output_is_read_by_the_confluent_deserializer(
    client: SchemaRegistryClient, our_registry: SchemaRegistry
) -> None:
    """Bytes from our codec decode with AvroDeserializer, which fetches the schema by id over HTTP."""
    payload = AvroCodec(our_registry).encode(our_registry.latest(SUBJECT), assistance())
    record = AvroDeserializer(client)(payload, CONTEXT)
    assert record == assistance()


def test_a_schema_registered_by_a_client_is_decodable_by_the_bus(
    client: SchemaRegistryClient, our_registry: SchemaRegistry
) -> None:
    """A new compatible version registered over HTTP is used by the serializer and found by our codec by id."""
    schema = json.loads(client.get_latest_version(SUBJECT).schema.schema_str)
    schema["fields"].append({"name": "approved_by", "type": ["null", "string"], "default": None,
                             "doc": "Officer who approved the entitlement."})
    new_id = client.register_schema(SUBJECT, Schema(json.dumps(schema), "AVRO"))
    newest = client.get_versions(SUBJECT)[-1]  # (the client caches "latest", so ask by number)
    assert client.get_version(SUBJECT, newest).schema_id == new_id
    payload = AvroSerializer(client, json.dumps(schema))(assistance() | {"approved_by": "王科长"}, CONTEXT)
    writer, record = AvroCodec(our_registry).decode(payload)
    assert writer.id == new_id
    assert record["approved_by"] == "王科长"
    # Registering the same schema again returns the same id.
    assert client.register_schema(SUBJECT, Schema(json.dumps(schema), "AVRO")) == new_id
    assert client.lookup_schema(SUBJECT, Schema(json.dumps(schema), "AVRO")).schema_id == new_id


def test_incompatible_schema_is_refused_with_409(client: SchemaRegistryClient) -> None:
    """A required field without a default breaks BACKWARD_TRANSITIVE: 409, and the check says why."""
    schema = json.loads(client.get_latest_version(SUBJECT).schema.schema_str)
    schema["fields"].append({"name": "bank_account", "type": "string"})
    incompatible = Schema(json.dumps(schema), "AVRO")
    assert client.test_compatibility(SUBJECT, incompatible) is False
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(SUBJECT, incompatible)
    assert refused.value.http_status_code == 409
    assert refused.value.error_code == 409


def test_compatibility_config_per_subject(client: SchemaRegistryClient) -> None:
    """A subject's mode can be set and read back; the global mode stays."""
    client.register_schema("sandbox-value", Schema('{"type": "string"}', "AVRO"))
    client.set_compatibility("sandbox-value", "NONE")
    assert client.get_compatibility("sandbox-value") == "NONE"
    assert client.get_compatibility() == "BACKWARD_TRANSITIVE"
    assert client.register_schema("sandbox-value", Schema('{"type": "long"}', "AVRO")) > 0
    assert client.delete_version("sandbox-value", 2) == 2
    assert client.delete_subject("sandbox-value") == [1]
    assert "sandbox-value" not in client.get_subjects()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/subjects/nope-value/versions", None, 404, 40401),
        ("GET", f"/subjects/{SUBJECT}/versions/99", None, 404, 40402),
        ("GET", "/schemas/ids/7", None, 404, 40403),
        ("POST", f"/subjects/{SUBJECT}", {"schema": '{"type": "int"}'}, 404, 40403),
        ("POST", f"/subjects/{SUBJECT}/versions", {"schema": "{not json"}, 422, 42201),
        ("GET", f"/subjects/{SUBJECT}/versions/zero", None, 422, 42202),
        ("PUT", "/config", {"compatibility": "SOMETIMES"}, 422, 42203),
    ],
)
def test_errors_carry_confluent_status_and_error_codes(
    server: tuple[str, Path], method: str, path: str, body: Any, status: int, code: int
) -> None:
    """Clients branch on these codes, so they match the Confluent API."""
    response = httpx.request(method, f"{server[0]}/registry{path}", json=body)
    assert response.status_code == status
    assert response.json()["error_code"] == code
    assert response.headers["content-type"].startswith("application/vnd.schemaregistry.v1+json")


def test_verbose_compatibility_lists_reasons(server: tuple[str, Path]) -> None:
    """`verbose=true` says which field breaks the rule."""
    base = f"{server[0]}/registry"
    latest = httpx.get(f"{base}/subjects/{SUBJECT}/versions/latest").json()
    schema = json.loads(latest["schema"])
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "programme"] + [
        {"name": "office", "type": "string"}]
    answer = httpx.post(f"{base}/compatibility/subjects/{SUBJECT}/versions/latest?verbose=true",
                        json={"schema": json.dumps(schema)}).json()
    assert answer["is_compatible"] is False
    assert any("office" in message for message in answer["messages"])
    assert httpx.get(f"{base}/schemas/types").json() == ["AVRO"]
    assert {"subject": SUBJECT, "version": 1} in httpx.get(f"{base}/schemas/ids/{latest['id']}/versions").json() \
        or latest["version"] > 1


def test_schemas_check_against_a_running_registry(tmp_path: Path) -> None:
    """`schemas check --registry` fails when the registry holds a version our standard cannot read."""
    port = free_port()
    env = clean_env(EXCHANGE_DATA_DIR=str(tmp_path))
    with running(["serve", "--port", str(port)], tmp_path, port, env) as base:
        url = f"{base}/registry"
        ok = subprocess.run([*EXCHANGE, "schemas", "check", "--registry", url], env=env, cwd=tmp_path,
                            capture_output=True, text=True, check=False)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        # Another team replaced the residents subject with an incompatible schema under NONE.
        subject = "public-security.residents-value"
        for permanent in ("false", "true"):
            httpx.delete(f"{url}/subjects/{subject}?permanent={permanent}").raise_for_status()
        foreign = {"type": "record", "name": "Resident", "namespace": "gov.exchange.public_security",
                   "fields": [{"name": "resident_id", "type": "long"}]}
        assert httpx.post(f"{url}/subjects/{subject}/versions", json={"schema": json.dumps(foreign)}).status_code == 200
        failed = subprocess.run([*EXCHANGE, "schemas", "check", "--registry", url], env=env, cwd=tmp_path,
                                capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "INCOMPATIBLE gov.exchange.public_security.Resident" in failed.stdout
    assert "resident_id" in failed.stdout
