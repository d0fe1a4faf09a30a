"""Domain exceptions. Services raise these; main.py turns them into HTTP problems."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


class BobError(Exception):
    """A failure the caller can act on: it carries an HTTP status, a stable code and a message."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        extra = {"fields": self.fields} if self.fields is not None else {}
        return error_body(self.code, self.message, **extra)

    def headers(self) -> dict[str, str]:
        return {}


class InvalidJson(BobError):
    status_code = 400
    code = "invalid_json"


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
        self.limit_headers = headers or {}

    def headers(self) -> dict[str, str]:
        return {**self.limit_headers, "Retry-After": str(self.retry_after)}


class ConfigurationError(Exception):
    """Settings that must not be used; raised before the service starts."""


def _field_name(loc: Sequence[Any]) -> str:
    # ("body", "owner", "email") -> "owner.email"; query and path keep their own names.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"} and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "not a field of this request"
    return str(error.get("msg", ""))


def validation_problem(errors: Sequence[Mapping[str, Any]]) -> BobError:
    """Pydantic's errors as one problem: 400 for a body that is not JSON, else a 422 naming
    every field that is wrong."""
    json_error = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if json_error is not None:
        detail = (json_error.get("ctx") or {}).get("error", "")
        return InvalidJson(f"request body is not valid JSON: {detail}".rstrip(": "))
    fields = [
        {"field": _field_name(tuple(e.get("loc", ()))), "message": _message(e)} for e in errors
    ]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return ValidationFailed(message, fields=fields)
