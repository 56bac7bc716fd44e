"""``POST /api/push/{department}/{record_type}``: a department pushes a JSON array of records onto its topic.

All or nothing per request: every row is validated against the topic's data standard first; one invalid
row answers 422 listing every error of every row, and nothing is published. Errors are RFC 9457 problem
details (``application/problem+json``).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from exchange.bus import Bus
from exchange.errors import ConfigError, TransportError, ValidationError
from exchange.push.keys import ApiKey, find_key, parse_department
from exchange.push.models import row_errors, row_model, to_record
from exchange.registry import SchemaRegistry
from exchange.registry.standards import load_avro_file
from exchange.settings import Settings
from exchange.state import StateStore
from exchange.topics import DEAD_LETTER_TOPIC, TopicSpec, topic_for
from schemas import AVRO_DIR

MAX_ROWS = 10_000
MAX_BYTES = 10 * 1024 * 1024
INVALID_ROWS = "urn:exchange:problem:rows-failed-validation"


class PushRejected(Exception):
    """A push answered with a problem other than invalid rows."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def problem(request: Request, status: int, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail,
            "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


class PushBus:
    """The bus pushes are published on: opened on the first push, closed with the app."""

    def __init__(self, settings: Settings, registry: SchemaRegistry) -> None:
        self.settings, self.registry = settings, registry
        self._bus: Bus | None = None
        # One push at a time: requests run in a thread pool and transports do not promise thread safety.
        self._lock = threading.Lock()

    def publish(self, topic: str, records: list[dict[str, Any]]) -> None:
        """Publish ``records`` and wait for the bus to confirm them; raises TransportError or ValidationError."""
        with self._lock:
            if self._bus is None:
                bus = Bus.open(self.settings, self.registry)
                try:
                    bus.ensure_topics()  # as adapters do (exchange.cli.pipeline): a fresh install has none yet
                except BaseException:
                    bus.close()
                    raise
                self._bus = bus
            bus = self._bus
            schema = bus.schemas[topic]
            for index, record in enumerate(records):  # encode all first, so one bad record publishes nothing
                try:
                    bus.codec.encode(schema, record)
                except ValidationError as exc:
                    raise ValidationError(f"row {index}: {exc}", [(f"{index}.{f}", m) for f, m in exc.errors]) \
                        from exc
            publisher = bus.publisher()
            try:
                for record in records:
                    publisher.publish(topic, record)
                publisher.flush()
            finally:
                publisher.close()

    def close(self) -> None:
        with self._lock:
            if self._bus is not None:
                self._bus.close()
                self._bus = None


def _secret(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-api-key") or None


def _authorised_topic(store: StateStore, secret: str | None, department: str, record_type: str) -> tuple[ApiKey,
                                                                                                        TopicSpec]:
    challenge = {"WWW-Authenticate": 'Bearer realm="exchange"'}
    if secret is None:
        raise PushRejected(401, "an API key is required: Authorization: Bearer <key> or X-API-Key", challenge)
    key = find_key(store, secret)
    if key is None:
        raise PushRejected(401, "unknown API key", challenge)
    if key.revoked:
        raise PushRejected(401, f"API key {key.id} has been revoked", challenge)
    try:
        symbol = parse_department(department)
    except ConfigError:
        raise PushRejected(404, f"no department {department!r}") from None
    if department != department.lower():
        raise PushRejected(404, f"no department {department!r}; departments are lower case with dashes")
    if symbol != key.department:
        raise PushRejected(403, f"this API key publishes for {key.department}, not {symbol}")
    try:
        spec = topic_for(symbol, record_type)
    except ConfigError:
        raise PushRejected(404, f"no topic for {symbol} {record_type!r} records") from None
    if spec.name == DEAD_LETTER_TOPIC:
        raise PushRejected(404, "dead letters cannot be pushed")
    if spec.entity is None and spec.record_type == "feedback":  # staff corrections come from the exchange only
        raise PushRejected(404, "feedback is read by departments, not pushed")
    return key, spec


async def _rows(request: Request) -> list[Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BYTES:
        raise PushRejected(413, f"the body is larger than {MAX_BYTES:,} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BYTES:
            raise PushRejected(413, f"the body is larger than {MAX_BYTES:,} bytes")
    try:
        rows = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PushRejected(400, f"the body is not JSON: {exc}") from None
    if not isinstance(rows, list):
        raise PushRejected(400, "the body must be a JSON array of records")
    if len(rows) > MAX_ROWS:
        raise PushRejected(413, f"{len(rows):,} rows; at most {MAX_ROWS:,} per request")
    return rows


def push_router(store: StateStore, push_bus: PushBus) -> APIRouter:
    """The push route, authenticating against ``store``'s API keys and publishing through ``push_bus``."""
    router = APIRouter(tags=["push"])

    @router.post("/push/{department}/{record_type}", status_code=202)
    async def push(department: str, record_type: str, request: Request) -> JSONResponse:
        """Validate a JSON array of records and publish them all on the department's topic, or none."""
        try:
            key, spec = await run_in_threadpool(_authorised_topic, store, _secret(request), department, record_type)
            rows = await _rows(request)
        except PushRejected as exc:
            return problem(request, exc.status, exc.detail, exc.headers)
        return await run_in_threadpool(_accept, request, key, spec, rows)

    def _accept(request: Request, key: ApiKey, spec: TopicSpec, rows: list[Any]) -> JSONResponse:
        model = row_model(_standard(spec.schema_name))
        now = datetime.now(UTC)
        records, errors = [], []
        for index, row in enumerate(rows):
            try:
                records.append(to_record(model.model_validate(row), key.department, now))
            except PydanticValidationError as exc:
                errors.extend(row_errors(index, exc))
        if errors:
            return _invalid_rows(request, errors, len(rows))
        try:
            push_bus.publish(spec.name, records)
        except ValidationError as exc:  # the codec disagreed with the model: still nothing was published
            errors = [{"row": int(f.split(".", 1)[0]), "field": f.split(".", 1)[1], "message": m}
                      for f, m in exc.errors] or [{"row": None, "field": "", "message": str(exc)}]
            return _invalid_rows(request, errors, len(rows))
        except TransportError as exc:
            return problem(request, 503, f"the bus did not accept the records: {exc}", {"Retry-After": "5"})
        return JSONResponse({"accepted": len(records), "topic": spec.name}, status_code=202)

    return router


def _invalid_rows(request: Request, errors: list[dict[str, Any]], total: int) -> JSONResponse:
    failed = len({e["row"] for e in errors})
    return JSONResponse(
        {"type": INVALID_ROWS, "title": "rows failed validation", "status": 422,
         "detail": f"{failed} of {total} rows failed validation; nothing was published",
         "instance": request.url.path, "errors": errors},
        status_code=422, media_type="application/problem+json")


@cache
def _standard(schema_name: str) -> dict[str, Any]:
    """The current data standard, the one the bus registers and publishes with."""
    return load_avro_file(AVRO_DIR / f"{schema_name}.avsc")


__all__ = ["MAX_BYTES", "MAX_ROWS", "PushBus", "problem", "push_router"]
