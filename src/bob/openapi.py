"""The OpenAPI schema names every status an operation can answer, with Bob's error body.

Most error statuses follow from what a route depends on, so they are added from the routes once
the app is built, and a route added later is covered without a word:

    a login (Bearer or cookie)          401, 403
    the rate limiter                    429
    path parameters                     404 (no such object in the caller's tenant)
    parameters or a body                400 (NUL characters, malformed JSON), 422 (when any can be
                                        invalid: constrained, typed or required outside the path)
    a body                              413

What only the handler or its service knows (a 409 clash, a door that checks its caller itself)
the route declares with `responses=problems(409, ...)`; a status a route declares is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from bob.deps import Caller, caller_of, get_limiter

JSON = dict[str, Any]
ERROR_REF = "#/components/schemas/ErrorResponse"
# FastAPI documents validation errors with its own body; Bob answers them in its own shape.
FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")
_STRING_ONLY = ({"type": "string"}, {"anyOf": [{"type": "string"}, {"type": "null"}]})


class FieldProblem(BaseModel):
    field: str = Field(description="The field, dotted when nested (`owner.email`).")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, for programs: `not_found`, `seat_limit`, ...")
    message: str = Field(description="For people: what is wrong, naming the field.")
    fields: list[FieldProblem] | None = Field(
        None, description="422 only, when the request does not fit its schema: each problem."
    )


class ErrorResponse(BaseModel):
    error: ErrorDetail


# What each status means and the codes it comes with (docs/REQUEST_FLOWS.md#errors).
DESCRIPTIONS: dict[int, str] = {
    400: "The URL or a JSON body contains a NUL character (`invalid_characters`), or the body "
    "is not valid JSON (`invalid_json`) or cannot be read (`bad_request`).",
    401: "No login, or the token is malformed, expired or revoked, or the account is disabled "
    "(`unauthorized`); wrong credentials (`invalid_credentials`); an unknown widget key "
    "(`invalid_widget_key`).",
    403: "Known, but not allowed: the role lacks the permission (`forbidden`), a cookie request "
    "lacks X-CSRF-Token (`csrf_failed`), the business is suspended (`tenant_suspended`); on the "
    "chat doors `cross_origin`, `origin_not_allowed`, `visitor_mismatch`.",
    404: "No such object, including another tenant's (`not_found`).",
    409: "The change clashes with existing data; `code` says how.",
    413: "The body is larger than the limit (`payload_too_large`).",
    422: "A field is missing or wrong (`validation_error`); the message names it, and `fields` "
    "lists each problem when the request does not fit its schema, unknown fields included.",
    429: "Too many requests (`rate_limited`); wait `Retry-After` seconds.",
}
EXAMPLES: dict[int, tuple[str, str]] = {
    400: ("invalid_json", "request body is not valid JSON: Expecting value"),
    401: ("unauthorized", "log in first: send 'Authorization: Bearer <token>' or a session cookie"),
    403: ("forbidden", "your role (viewer) lacks the permission knowledge.manage"),
    404: ("not_found", "no such object"),
    409: ("conflict", "the change clashes with existing data"),
    413: ("payload_too_large", "request body is larger than the limit of 1048576 bytes"),
    422: ("validation_error", "email: value is not a valid email address"),
    429: ("rate_limited", "too many messages from this address; wait a moment"),
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def problem(status: int, description: str | None = None) -> JSON:
    """One error status in Bob's error body, for a route's `responses=`."""
    code, message = EXAMPLES.get(status, ("error", "something is wrong"))
    documented: JSON = {
        "description": description or DESCRIPTIONS.get(status, "An error."),
        "content": {
            "application/json": {
                "schema": {"$ref": ERROR_REF},
                "example": {"error": {"code": code, "message": message}},
            }
        },
    }
    if status == 429:
        documented["headers"] = RETRY_AFTER
    return documented


def problems(*statuses: int) -> dict[int | str, JSON]:
    """`responses=problems(404, 409)`: statuses only the handler or its service can tell."""
    return {status: problem(status) for status in statuses}


# ---- what a route's dependencies say ---------------------------------------------------------


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _api_routes(app: FastAPI) -> Iterable[Any]:
    # Included routers are branches in newer FastAPI; its route contexts flatten them the way the
    # OpenAPI generator sees them (with the include's prefix and dependencies).
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    for candidate in iterate(app.routes) if iterate is not None else app.routes:
        if isinstance(getattr(candidate, "original_route", candidate), APIRoute):
            yield candidate


def _may_be_invalid(parameter: JSON) -> bool:
    """Whether some value of this parameter is refused with 422 (a bare string never is)."""
    if parameter.get("in") != "path" and parameter.get("required"):
        return True  # it can be left out
    schema = {k: v for k, v in parameter.get("schema", {}).items() if k not in ("title", "default")}
    return schema not in _STRING_ONLY


# The strongest of a route's callers names who may call it: a permission implies a login, which
# implies the optional one.
_STRENGTH = {"optional": 0, "login": 1, "permission": 2, "same_origin": 3, "widget_key": 3}


def caller_of_route(route: Any) -> Caller | None:
    """Who may call `route`, from the markers on its dependencies (deps.lets_in); None: anyone."""
    callers = [c for c in map(caller_of, _calls(route.dependant)) if c is not None]
    return max(callers, key=lambda c: _STRENGTH[c.kind], default=None)


def _access(caller: Caller | None) -> JSON:
    if caller is None:
        return {"kind": "public"}
    if caller.permission is None:
        return {"kind": caller.kind}
    return {"kind": caller.kind, "permission": caller.permission}


def _inferred(route: Any, operation: JSON) -> set[int]:
    calls = set(_calls(route.dependant))
    parameters = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
    body = "requestBody" in operation
    found: set[int] = set()
    caller = caller_of_route(route)
    if caller is not None and caller.kind in ("optional", "login", "permission"):
        found |= {401, 403}
    if get_limiter in calls:
        found.add(429)
    if any(p.get("in") == "path" for p in parameters):
        found.add(404)
    if parameters or body:
        found.add(400)
    if body:
        found.add(413)
    if body or any(_may_be_invalid(p) for p in parameters):
        found.add(422)
    return found


def _is_fastapi_validation(response: JSON) -> bool:
    content = response.get("content") or {}
    schema = (content.get("application/json") or {}).get("schema") or {}
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _fill(response: JSON, status: int) -> None:
    """A declared error status without a body gets Bob's (a 304 or a script's 404 keep theirs)."""
    if status >= 400 and not response.get("content"):
        response.update(problem(status, response.get("description") or None))


def document_errors(app: FastAPI, document: JSON) -> JSON:
    """Adds each operation's error statuses to `document` (the app's OpenAPI schema)."""
    paths = document.get("paths") or {}
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = (paths.get(route.path_format) or {}).get(method.lower())
            if not isinstance(operation, dict):
                continue
            responses: JSON = operation.setdefault("responses", {})
            operation["x-bob-access"] = _access(caller_of_route(route))
            inferred = _inferred(route, operation)
            fastapi_422 = responses.get("422")
            if isinstance(fastapi_422, dict) and _is_fastapi_validation(fastapi_422):
                del responses["422"]
            for status in sorted(inferred):
                responses.setdefault(str(status), problem(status))
            for key, response in responses.items():
                if key.isdigit() and isinstance(response, dict):
                    _fill(response, int(key))
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_SCHEMAS:
        schemas.pop(name, None)
    generated = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(generated.pop("$defs", {}))
    schemas["ErrorResponse"] = generated
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def install(app: FastAPI) -> None:
    """Makes `app.openapi()` (and /api/openapi.json) carry the error statuses; built once."""
    build = app.openapi

    def openapi() -> JSON:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(app, build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
