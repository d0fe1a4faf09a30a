"""Pure ASGI middleware: request ids and the request log, security headers, the body size limit.

Pure ASGI rather than BaseHTTPMiddleware so streamed responses pass through untouched.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("bob.request")
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
# Every HTML page runs only Bob's own scripts: an injected <script> or inline handler does
# nothing. Inline style attributes stay allowed (chart bars, colour previews).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# A frameable page (under a frameable prefix) keeps the rest of the policy.
FRAMEABLE_PAGE_CSP = PAGE_CSP.removesuffix("; frame-ancestors 'none'")
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestIdMiddleware:
    """Gives every request an id (the caller's X-Request-ID when it is sane) and logs one line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client[0] if client else None,
                },
            )
            request_id_var.reset(token)


class SecurityHeadersMiddleware:
    """Headers every response carries. Framing is refused everywhere except the widget bundle.

    An HTML response without a Content-Security-Policy of its own gets the pages' policy, so no
    page can be served without it, whichever route renders it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts: bool,
        frameable_prefixes: tuple[str, ...],
        vary_origin_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.hsts = hsts
        self.frameable_prefixes = frameable_prefixes
        self.vary_origin_prefixes = vary_origin_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        frameable = scope["path"].startswith(self.frameable_prefixes)
        # Answers on these paths depend on the Origin header, errors included: caches must know.
        vary_origin = bool(self.vary_origin_prefixes) and scope["path"].startswith(
            self.vary_origin_prefixes
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                extra: list[tuple[bytes, bytes]] = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.lower().startswith(b"text/html"):
                    policy = FRAMEABLE_PAGE_CSP if frameable else PAGE_CSP
                    extra.append((b"content-security-policy", policy.encode()))
                elif not frameable:
                    extra.append((b"content-security-policy", b"frame-ancestors 'none'"))
                if not frameable:
                    extra.append((b"x-frame-options", b"DENY"))
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                if vary_origin and not any(
                    k.lower() == b"vary" and b"origin" in v.lower() for k, v in headers
                ):
                    headers.append((b"vary", b"Origin"))
                headers.extend(h for h in extra if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# A JSON \u0000 escape that is not itself escaped (an even run of backslashes before it).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestGuardMiddleware:
    """Refuses what no handler should see: bodies over the size limit and NUL characters.

    Size is checked early on Content-Length and again while the body streams in. NUL is refused
    in the query string and in JSON bodies because PostgreSQL cannot store it in text, and
    answering 400 here is better than a 500 from deep inside a query.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Paths that take more (a file upload), never less than every other path.
        self.path_limits = {p: max(n, max_bytes) for p, n in (path_limits or {}).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.max_bytes)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_error(send, 413, "payload_too_large", _too_large(limit))
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope["path"]:
            await _send_error(send, 400, "invalid_characters", _NUL_MESSAGE)
            return
        is_json = "json" in (_header(scope, b"content-type") or "")
        received = 0
        tail = b""
        refused = False

        async def guarded_receive() -> Message:
            nonlocal received, refused, tail
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk = message.get("body", b"")
            received += len(chunk)
            problem = None
            if received > limit:
                problem = (413, "payload_too_large", _too_large(limit))
            elif is_json:
                # Keep a few bytes of the previous chunk so an escape split in two is still seen.
                window = tail + chunk
                if _JSON_NUL.search(window):
                    problem = (400, "invalid_characters", _NUL_MESSAGE)
                tail = window[-16:]
            if problem is not None:
                # Answer now; the app sees the client go away and its own reply is dropped.
                refused = True
                await _send_error(send, *problem)
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not refused:
                raise


def _too_large(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


_NUL_MESSAGE = "the request contains a NUL character (\\u0000), which Bob does not accept"
