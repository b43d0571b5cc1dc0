"""One error hierarchy for the whole product, grouped by what the caller should do next.

::

    PlantSyncError                      the root; every error we raise on purpose
    ├── ConfigurationError              settings or a connection's config are wrong: fix them
    ├── InputError                      the caller sent something we refuse (API 4xx, CLI exit 2)
    │   ├── ValidationError             bad fields: ``errors`` maps each field to its messages (422)
    │   ├── BadRequestError             a well-formed request we cannot act on (400)
    │   ├── NotFoundError               no such resource in the caller's tenant (404)
    │   └── ConflictError               the resource's state forbids it (409)
    ├── AuthenticationError             who you are is unknown or expired (401)
    ├── PermissionDeniedError           you may not do this (403)
    ├── RateLimitedError                slow down (429), with ``retry_after`` seconds
    └── ConnectorError                  something between us and an ERP; carries the context
        ├── RetriableError              try again later (429, 5xx, timeouts, dropped connections)
        │   ├── ThrottledError          the ERP asked us to wait ``retry_after`` seconds
        │   ├── UnavailableError        5xx, timeout, connection refused or dropped
        │   └── AmbiguousWriteError     a write whose answer was lost: reconcile, never re-send blindly
        ├── FatalError                  stop the run: retrying will not help
        │   ├── ERPAuthenticationError  401: the credentials are wrong
        │   ├── ERPPermissionError      403: the credentials lack an authorisation
        │   ├── ERPNotFoundError        404 on a service or resource path
        │   └── ERPConfigurationError   TLS, DNS, a missing table/service the mapping needs
        └── RecordError                 one record is bad: fail it, carry on with the others
            └── ERPValidationError      the ERP refused the record's values

Every error builds its own message from its context; secrets never enter a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class PlantSyncError(Exception):
    """Root of every error PlantSync raises on purpose."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(PlantSyncError):
    """The hub's settings are wrong or incomplete; an operator must fix them."""

    status_code = 500
    code = "configuration_error"


class InputError(PlantSyncError):
    """The caller sent something we refuse."""

    status_code = 400
    code = "bad_request"


class ValidationError(InputError):
    """One or more fields are invalid.

    Args:
        errors: each bad field (dotted path) mapped to its messages.
        message: a summary; built from ``errors`` when omitted.
    """

    status_code = 422
    code = "validation_error"

    def __init__(self, errors: Mapping[str, Sequence[str]], message: str | None = None) -> None:
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in errors.items()}
        if message is None:
            fields = ", ".join(sorted(self.errors)) or "request"
            message = f"Invalid value for: {fields}"
        super().__init__(message)

    @classmethod
    def single(cls, field: str, message: str) -> ValidationError:
        return cls({field: [message]}, f"{field}: {message}")


class BadRequestError(InputError):
    status_code = 400
    code = "bad_request"


class NotFoundError(InputError):
    """No such resource (in the caller's tenant)."""

    status_code = 404
    code = "not_found"

    def __init__(self, resource: str, ident: object) -> None:
        self.resource = resource
        self.ident = ident
        super().__init__(f"{resource} {ident} not found")


class ConflictError(InputError):
    status_code = 409
    code = "conflict"


class AuthenticationError(PlantSyncError):
    status_code = 401
    code = "not_authenticated"


class PermissionDeniedError(PlantSyncError):
    status_code = 403
    code = "permission_denied"


class RateLimitedError(PlantSyncError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConnectorError(PlantSyncError):
    """Something between PlantSync and an ERP went wrong.

    Args:
        detail: what happened, in words an admin can act on (never a secret).
        provider: ``sap`` | ``dynamics`` | ``oracle`` | a plug-in's name.
        entity: the entity type being synced, when known.
        record_key: the ERP key or local id of the record, when one record is concerned.
        status: the HTTP status the ERP answered, when there was one.
    """

    status_code = 502
    code = "erp_error"

    def __init__(
        self,
        detail: str,
        *,
        provider: str | None = None,
        entity: str | None = None,
        record_key: str | None = None,
        status: int | None = None,
    ) -> None:
        self.detail = detail
        self.provider = provider
        self.entity = entity
        self.record_key = record_key
        self.status = status
        super().__init__(self._build_message())

    def _build_message(self) -> str:
        where = [p for p in (self.provider and self.provider.upper(), self.entity) if p]
        prefix = f"[{' '.join(where)}] " if where else ""
        record = f" (record {self.record_key})" if self.record_key else ""
        return f"{prefix}{self.detail}{record}"


class RetriableError(ConnectorError):
    """Trying again later may succeed."""


class ThrottledError(RetriableError):
    code = "erp_throttled"

    def __init__(self, detail: str, *, retry_after: float | None = None, **context: object) -> None:
        self.retry_after = retry_after
        super().__init__(detail, **context)  # type: ignore[arg-type]


class UnavailableError(RetriableError):
    code = "erp_unavailable"


class AmbiguousWriteError(RetriableError):
    """A write was sent but its answer was lost: it may or may not have been applied."""

    code = "erp_ambiguous_write"


class FatalError(ConnectorError):
    """Retrying will not help; the run stops."""


class ERPAuthenticationError(FatalError):
    code = "erp_authentication_failed"


class ERPPermissionError(FatalError):
    code = "erp_permission_denied"


class ERPNotFoundError(FatalError):
    code = "erp_not_found"


class ERPConfigurationError(FatalError):
    code = "erp_configuration_error"


class RecordError(ConnectorError):
    """One record failed; the others go on."""

    code = "erp_record_error"


class ERPValidationError(RecordError):
    code = "erp_validation_error"
