"""Door 1's visitor cookie: the browser's proof that a conversation is this visitor's.

Door 1 serves only pages on Bob's own origin, and its published snippet continues a conversation
with nothing but the `session_id`. The first reply therefore hands the conversation's visitor
token to the browser as well, in an HttpOnly cookie that same-origin `fetch` sends back by itself;
it stands in for `X-Visitor-Token`.

One cookie per conversation, named after the tenant and the session id, so that many
conversations in one browser, and several tenants chatting on one site, never share or overwrite
each other's proof. The value is `<last used, unix seconds>.<token>`; the timestamp lets the
oldest cookies go once a browser holds too many.
"""

from __future__ import annotations

import hashlib
import time
import uuid

from starlette.requests import Request
from starlette.responses import Response

from bob.settings import Settings

PREFIX = "bob_visitor_"
# /api/chat and /api/chat/transcript: the two door-1 paths that take the proof.
PATH = "/api/chat"
MAX_AGE_S = 30 * 24 * 3600
# Browsers cap the cookies of one site and the size of the Cookie header: a visitor who starts
# many conversations keeps the most recently used ones.
KEPT = 20


def cookie_name(*, tenant_id: uuid.UUID, session_id: str) -> str:
    # A digest rather than the ids themselves: a session id may hold characters a cookie name
    # cannot, and two tenants' conversations may have the same session id.
    digest = hashlib.sha256(f"{tenant_id}/{session_id}".encode()).hexdigest()[:32]
    return PREFIX + digest


def _parse(value: str) -> tuple[int, str] | None:
    used, _, token = value.partition(".")
    if not used.isdigit() or not token:
        return None
    return int(used), token


def presented_token(
    request: Request, *, tenant_id: uuid.UUID, session_id: str | None
) -> str | None:
    """The visitor's proof for this conversation: `X-Visitor-Token` when sent, else its cookie."""
    header = request.headers.get("x-visitor-token")
    if header is not None or session_id is None:
        return header
    value = request.cookies.get(cookie_name(tenant_id=tenant_id, session_id=session_id))
    parsed = _parse(value) if value is not None else None
    return parsed[1] if parsed is not None else None


def _secure(request: Request, settings: Settings) -> bool:
    return settings.secure_cookies or request.url.scheme == "https"


def remember(
    response: Response,
    *,
    request: Request,
    settings: Settings,
    tenant_id: uuid.UUID,
    session_id: str,
    token: str,
) -> None:
    """Set (or refresh) the conversation's cookie, dropping the least recently used beyond KEPT."""
    name = cookie_name(tenant_id=tenant_id, session_id=session_id)
    secure = _secure(request, settings)
    response.set_cookie(
        name,
        f"{int(time.time())}.{token}",
        max_age=MAX_AGE_S,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    others = sorted(
        ((_parse(value) or (0, ""))[0], other)
        for other, value in request.cookies.items()
        if other.startswith(PREFIX) and other != name
    )
    for _, stale in others[: max(0, len(others) - (KEPT - 1))]:
        response.delete_cookie(stale, path=PATH, httponly=True, samesite="strict", secure=secure)
