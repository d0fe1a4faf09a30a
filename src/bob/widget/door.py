"""What every widget-facing endpoint shares: the key, the origin, and CORS answers.

A handler names its caller, `caller: WidgetCaller`, and the rest follows: a missing or revoked
key (401), a suspended business or an origin not on the key's list (403) are refused with only
`Vary: Origin`, and once the origin is allowed every answer, errors included, carries its CORS
headers (the app's error handlers add `error_headers`), so the widget can read why it failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse

from bob.deps import Caller, get_database, lets_in, set_error_headers
from bob.errors import Forbidden
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


@dataclass(frozen=True)
class WidgetCall:
    access: widget.WidgetAccess
    origin: str

    @property
    def cors(self) -> dict[str, str]:
        return cors_headers(self.origin)


@lets_in(Caller("widget_key"))
async def widget_caller(request: Request) -> WidgetCall:
    """The key and the origin it is used from; 401/403 carry no CORS allow header."""
    set_error_headers(request, {"Vary": "Origin"})
    async with get_database(request).transaction() as session:
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
    # From here on the origin is allowed: every answer, errors included, is readable by it.
    set_error_headers(request, cors_headers(origin))
    return WidgetCall(access, origin)


WidgetCaller = Annotated[WidgetCall, Depends(widget_caller)]


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
