"""The Confluent Schema Registry REST API, for the calls real clients make (mounted at ``/registry``).

Responses and error codes follow Confluent's API so its clients (``SchemaRegistryClient``,
``AvroSerializer``, ``AvroDeserializer``) and tools work against the bus unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from exchange.errors import InvalidSchema, RegistryError, SchemaNotFound, SubjectConfigNotFound
from exchange.registry import RegisteredSchema, SchemaRegistry

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryResponse(JSONResponse):
    media_type = MEDIA_TYPE


def registry_error(exc: RegistryError) -> Response:
    return RegistryResponse({"error_code": exc.error_code, "message": str(exc)}, status_code=exc.http_status)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise InvalidSchema(f"Request body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidSchema("Request body must be a JSON object")
    return body


def _schema_of(body: dict[str, Any]) -> str:
    if body.get("schemaType", "AVRO") != "AVRO":
        raise InvalidSchema(f"Unsupported schema type {body['schemaType']!r}: this registry holds AVRO schemas")
    if body.get("references"):
        raise InvalidSchema("Schema references are not supported; send the schema with named types inline")
    schema = body.get("schema")
    if not isinstance(schema, str):
        raise InvalidSchema("Request body needs \"schema\": the schema as a JSON string")
    return schema


def _version_body(found: RegisteredSchema) -> dict[str, Any]:
    return {"subject": found.subject, "version": found.version, "id": found.id, "schema": found.schema_str}


def registry_router(registry: SchemaRegistry) -> APIRouter:
    """Routes of the Confluent-compatible registry over ``registry``."""
    router = APIRouter(tags=["schema registry"], default_response_class=RegistryResponse)

    @router.get("/subjects")
    def subjects(deleted: bool = False) -> list[str]:
        return registry.subjects(include_deleted=deleted)

    @router.get("/subjects/{subject}/versions")
    def versions(subject: str, deleted: bool = False) -> list[int]:
        return [v.version for v in registry.versions(subject, include_deleted=deleted)]

    @router.post("/subjects/{subject}/versions")
    async def register(subject: str, request: Request) -> dict[str, int]:
        return {"id": registry.register(subject, _schema_of(await _body(request))).id}

    @router.get("/subjects/{subject}/versions/{version}")
    def version(subject: str, version: str, deleted: bool = False) -> dict[str, Any]:
        return _version_body(registry.version(subject, version, include_deleted=deleted))

    @router.get("/subjects/{subject}/versions/{version}/schema")
    def version_schema(subject: str, version: str) -> Any:
        return registry.version(subject, version).schema

    @router.get("/subjects/{subject}/versions/{version}/referencedby")
    def referenced_by(subject: str, version: str) -> list[int]:
        registry.version(subject, version)
        return []  # references are not supported, so nothing refers to anything

    @router.post("/subjects/{subject}")
    async def lookup(subject: str, request: Request, deleted: bool = False) -> dict[str, Any]:
        schema = _schema_of(await _body(request))
        return _version_body(registry.lookup(subject, schema))

    @router.delete("/subjects/{subject}/versions/{version}")
    def delete_version(subject: str, version: str, permanent: bool = False) -> int:
        return registry.delete_version(subject, version, permanent=permanent)

    @router.delete("/subjects/{subject}")
    def delete_subject(subject: str, permanent: bool = False) -> list[int]:
        return registry.delete_subject(subject, permanent=permanent)

    @router.get("/schemas/types")
    def schema_types() -> list[str]:
        return ["AVRO"]

    @router.get("/schemas/ids/{schema_id}")
    def schema_by_id(schema_id: int, subject: str | None = None) -> dict[str, Any]:
        return {"schema": _by_id(schema_id).schema_str}

    @router.get("/schemas/ids/{schema_id}/schema")
    def raw_schema_by_id(schema_id: int) -> Any:
        return _by_id(schema_id).schema

    @router.get("/schemas/ids/{schema_id}/versions")
    def versions_of_id(schema_id: int) -> list[dict[str, Any]]:
        return [{"subject": r.subject, "version": r.version} for r in registry.subjects_of(schema_id)]

    @router.get("/schemas/ids/{schema_id}/subjects")
    def subjects_of_id(schema_id: int) -> list[str]:
        return sorted({r.subject for r in registry.subjects_of(schema_id)})

    @router.post("/compatibility/subjects/{subject}/versions/{version}")
    async def compatibility(subject: str, version: str, request: Request, verbose: bool = False) -> dict[str, Any]:
        schema = _schema_of(await _body(request))
        reasons = registry.incompatibilities(subject, schema, version)
        answer: dict[str, Any] = {"is_compatible": not reasons}
        if verbose:
            answer["messages"] = reasons
        return answer

    @router.post("/compatibility/subjects/{subject}/versions")
    async def compatibility_all(subject: str, request: Request, verbose: bool = False) -> dict[str, Any]:
        schema = _schema_of(await _body(request))
        reasons = registry.incompatibilities(subject, schema)
        return {"is_compatible": not reasons, **({"messages": reasons} if verbose else {})}

    @router.get("/config")
    def global_config() -> dict[str, str]:
        return {"compatibilityLevel": registry.mode().value}

    @router.put("/config")
    async def set_global_config(request: Request) -> dict[str, str]:
        mode = registry.set_mode(str((await _body(request)).get("compatibility", "")))
        return {"compatibility": mode.value if mode else ""}

    @router.get("/config/{subject}")
    def subject_config(subject: str, defaultToGlobal: bool = False) -> Response:
        mode = registry.subject_mode(subject)
        if mode is None and not defaultToGlobal:
            raise SubjectConfigNotFound(f"Subject '{subject}' does not have subject-level compatibility configured")
        return RegistryResponse({"compatibilityLevel": (mode or registry.mode()).value})

    @router.put("/config/{subject}")
    async def set_subject_config(subject: str, request: Request) -> dict[str, str]:
        mode = registry.set_mode(str((await _body(request)).get("compatibility", "")), subject)
        return {"compatibility": mode.value if mode else ""}

    @router.delete("/config/{subject}")
    def delete_subject_config(subject: str) -> dict[str, str]:
        previous = registry.mode(subject)
        registry.set_mode(None, subject)
        return {"compatibility": previous.value}

    @router.get("/mode")
    def mode() -> dict[str, str]:
        return {"mode": "READWRITE"}

    def _by_id(schema_id: int) -> RegisteredSchema:
        try:
            return registry.by_id(schema_id)
        except LookupError:
            raise SchemaNotFound(f"Schema {schema_id} not found") from None

    return router


__all__ = ["MEDIA_TYPE", "registry_error", "registry_router"]
