"""The exception tree of the exchange bus.

    ExchangeError
    ├── ConfigError (ValueError)            a setting or URL is invalid
    ├── SchemaError (ValueError)            a schema cannot be loaded or found
    │   ├── UnknownSchemaId (LookupError)   a payload names a schema id the registry does not hold
    │   └── RegistryError                   a registry call failed; carries the Confluent error code
    │       ├── SubjectNotFound (LookupError)      40401
    │       ├── VersionNotFound (LookupError)      40402
    │       ├── SchemaNotFound (LookupError)       40403
    │       ├── SubjectConfigNotFound (LookupError) 40408
    │       ├── IncompatibleSchema                 409, with every reason
    │       ├── InvalidSchema                      42201
    │       ├── InvalidVersion                     42202
    │       └── InvalidCompatibilityLevel          42203
    ├── CodecError (ValueError)             bytes are not a valid Confluent-framed Avro payload
    ├── ValidationError (ValueError)        a record breaks the data standard (carries field errors)
    ├── TransportError (OSError)            the bus failed
    │   ├── TopicNotFound (LookupError)
    │   └── DeliveryError                   a produce was not acknowledged
    ├── SourceError (OSError)               a department source could not be read
    ├── ProcessDefinitionError (ValueError) a collaborative-process YAML is invalid
    └── AccountError (ValueError)           a staff account cannot be created or changed as asked

Each also derives from the closest builtin, so callers catching the builtin still catch it.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """Root of every error raised by the exchange bus."""


class ConfigError(ExchangeError, ValueError):
    """A setting, URL or configuration file is invalid."""


class SchemaError(ExchangeError, ValueError):
    """A schema cannot be loaded, parsed or found."""


class UnknownSchemaId(SchemaError, LookupError):
    """A payload refers to a schema id that the registry does not hold."""

    reason = "unknown_schema_id"


class RegistryError(SchemaError):
    """A schema-registry request failed; ``error_code`` and ``http_status`` follow the Confluent API."""

    error_code = 50001
    http_status = 500


class SubjectNotFound(RegistryError, LookupError):
    error_code, http_status = 40401, 404


class VersionNotFound(RegistryError, LookupError):
    error_code, http_status = 40402, 404


class SchemaNotFound(RegistryError, LookupError):
    error_code, http_status = 40403, 404


class SubjectConfigNotFound(RegistryError, LookupError):
    error_code, http_status = 40408, 404


class IncompatibleSchema(RegistryError):
    """A schema breaks its subject's compatibility mode; ``reasons`` lists every rule broken."""

    error_code, http_status = 409, 409

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


class InvalidSchema(RegistryError):
    error_code, http_status = 42201, 422


class InvalidVersion(RegistryError):
    error_code, http_status = 42202, 422


class InvalidCompatibilityLevel(RegistryError):
    error_code, http_status = 42203, 422


class CodecError(ExchangeError, ValueError):
    """Bytes are not a valid Confluent-framed Avro payload for their schema.

    ``reason`` is a short code for dead letters: truncated, bad_magic_byte, trailing_bytes,
    schema_mismatch, payload_too_complex, undecodable.
    """

    def __init__(self, message: str, reason: str = "undecodable") -> None:
        super().__init__(message)
        self.reason = reason


class ValidationError(ExchangeError, ValueError):
    """A record breaks the data standard; ``errors`` lists ``(field, message)`` pairs."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class TransportError(ExchangeError, OSError):
    """The message bus failed."""


class TopicNotFound(TransportError, LookupError):
    """A topic does not exist on the bus."""


class DeliveryError(TransportError):
    """A produced message was not acknowledged by the bus."""


class SourceError(ExchangeError, OSError):
    """A department source (database, file, endpoint) could not be read."""


class ProcessDefinitionError(ExchangeError, ValueError):
    """A collaborative-process definition is invalid."""


class AccountError(ExchangeError, ValueError):
    """A staff account cannot be created, found or changed as asked (duplicate name, unknown role...)."""
