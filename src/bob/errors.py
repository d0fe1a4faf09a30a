"""Domain exceptions. Services raise these; main.py turns them into HTTP problems."""

from __future__ import annotations


class BobError(Exception):
    """A failure the caller can act on: it carries an HTTP status, a stable code and a message."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ValidationFailed(BobError):
    status_code = 422
    code = "validation_error"


class Unauthorized(BobError):
    status_code = 401
    code = "unauthorized"


class Forbidden(BobError):
    status_code = 403
    code = "forbidden"


class NotFound(BobError):
    status_code = 404
    code = "not_found"


class Conflict(BobError):
    status_code = 409
    code = "conflict"


class RateLimited(BobError):
    status_code = 429
    code = "rate_limited"

    def __init__(
        self, message: str, *, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
        self.headers = headers or {}


class ServiceUnavailable(BobError):
    status_code = 503
    code = "unavailable"


class ConfigurationError(Exception):
    """Settings that must not be used; raised before the service starts."""
