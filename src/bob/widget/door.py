"""What every widget-facing endpoint shares: the key, the origin, and CORS answers."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from bob.deps import get_database
from bob.errors import BobError, Forbidden
from bob.widget import service as widget
from bob.widget.origins import request_origin

ALLOW_HEADERS = "Content-Type, Accept, X-Widget-Key, X-Visitor-Token, X-Altcha"
EXPOSE_HEADERS = "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSE_HEADERS,
        "Vary": "Origin",
    }


def error_response(exc: BobError, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        exc.body(), status_code=exc.status_code, headers={**headers, **exc.headers()}
    )


async def widget_access(request: Request) -> tuple[widget.WidgetAccess, str]:
    """The key and the origin it is used from; 401/403 carry no CORS allow header."""
    db = get_database(request)
    async with db.transaction() as session:
        access = await widget.resolve_key(
            session=session, value=request.headers.get("x-widget-key")
        )
    origin = request_origin(request.headers.get("origin"))
    if origin is None or not widget.key_allows(access.key, origin):
        raise Forbidden(
            f"origin {request.headers.get('origin') or '(none)'} is not on this widget key's "
            "allowed origins; add it in Widget Setup",
            code="origin_not_allowed",
        )
    return access, origin


async def preflight(request: Request) -> Response:
    """A preflight carries no key: allow the origin if some active key of an active tenant does.
    The real request is then checked against its own key."""
    origin = request_origin(request.headers.get("origin"))
    db = get_database(request)
    async with db.transaction() as session:
        allowed = await widget.any_key_allows(session=session, origin=origin)
    if not allowed or origin is None:
        return JSONResponse(
            {"error": {"code": "origin_not_allowed", "message": "origin not allowed"}},
            status_code=403,
            headers={"Vary": "Origin"},
        )
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )
