"""The served widget: the tenant bundle, the legacy loader, and the config the widget reads."""

from __future__ import annotations

import hashlib
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from bob.anonymous import service as anonymous
from bob.db.session import Database
from bob.deps import SettingsDep, get_database
from bob.openapi import problems
from bob.personas import service as personas
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.widget import door
from bob.widget import service as widget

router = APIRouter(tags=["widget"])
STATIC = Path(__file__).parent.parent / "static"
WIDGET_SOURCE = STATIC / "widget" / "widget.js"
# Also loaded with <script> by Bob's own pages. Each is one top-level `var`, which the bundle's
# wrapper function keeps local: the widget adds no global to a site but window.Bob.
SHARED_SOURCES = (STATIC / "markdown.js", STATIC / "proof-of-work.js")
# Short enough that a change in Widget Setup reaches visitors within a minute.
BUNDLE_MAX_AGE = 60
# Starlette names the charset only for text/* types; a script's is stated all the same.
SCRIPT_CONTENT_TYPE = "application/javascript; charset=utf-8"


class JavaScriptResponse(Response):
    media_type = "application/javascript"


_SCRIPT = {"application/javascript": {"schema": {"type": "string"}}}
SCRIPT_REPLIES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Unchanged since the ETag sent in If-None-Match."},
    404: {
        "description": "A script that only logs why: a stale tag must never break a site.",
        "content": _SCRIPT,
    },
}


@cache
def _source() -> str:
    """The widget function, as an expression that also sees the shared scripts' vars."""
    shared = "\n".join(path.read_text(encoding="utf-8").strip() for path in SHARED_SOURCES)
    widget = WIDGET_SOURCE.read_text(encoding="utf-8").strip()
    return f"(function () {{\n{shared}\nreturn {widget};\n}})()"


def _script(config: dict[str, Any]) -> str:
    return f"{_source()}({json.dumps(config, ensure_ascii=False)}, document.currentScript);\n"


def _headers() -> dict[str, str]:
    return {
        "Cache-Control": f"public, max-age={BUNDLE_MAX_AGE}",
        # Any site may load it with <script> (also with crossorigin); nothing may frame it.
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Content-Security-Policy": "frame-ancestors 'none'",
    }


def _javascript(request: Request, body: str, status: int = 200) -> Response:
    encoded = body.encode()
    etag = '"' + hashlib.sha256(encoded).hexdigest()[:32] + '"'
    headers = {**_headers(), "ETag": etag}
    if status == 200 and request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    headers["Content-Type"] = SCRIPT_CONTENT_TYPE
    if request.method == "HEAD":
        # What GET would send, its length included, without the body.
        headers["Content-Length"] = str(len(encoded))
        return JavaScriptResponse(status_code=status, headers=headers)
    return JavaScriptResponse(encoded, status_code=status, headers=headers)


def _unavailable(request: Request) -> Response:
    # Valid JavaScript that does nothing but say why, so a stale tag never breaks a site.
    body = (
        'console.warn("Bob widget: this widget is not available '
        '(unknown or suspended business).");\n'
    )
    return _javascript(request, body, status=404)


async def public_config(
    *, db: Database, settings: Settings, tenant: Tenant, key: str
) -> dict[str, Any]:
    async with db.transaction() as session:
        persona = await personas.get_default(session=session, tenant_id=tenant.id)
        look = await widget.get_appearance(session=session, tenant_id=tenant.id)
        doors = await anonymous.get_limits(session=session, tenant=tenant)
    return {
        "apiBase": settings.public_url,
        "key": key,
        "tenantId": str(tenant.id),
        "persona": {"name": persona.name if persona else "Bob"},
        "appearance": {
            "position": look.position,
            "color": look.color,
            "launcherLabel": look.launcher_label,
            "openOnLoad": look.open_on_load,
        },
        "greeting": look.greeting,
        "language": look.language,
        # A new conversation then needs a solved proof-of-work challenge (X-Altcha).
        "challenge": doors.challenge,
    }


@router.get(
    "/widget/{tenant_id}/widget.js",
    response_class=JavaScriptResponse,
    responses=SCRIPT_REPLIES,
    summary="The tenant's widget bundle (seed path)",
)
@router.head("/widget/{tenant_id}/widget.js", include_in_schema=False)
async def tenant_bundle(tenant_id: str, request: Request) -> Response:
    try:
        tenant_uuid = uuid.UUID(tenant_id)
    except ValueError:
        return _unavailable(request)
    db = get_database(request)
    settings: Settings = request.app.state.settings
    async with db.transaction() as session:
        tenant = await session.get(Tenant, tenant_uuid)
        key = await widget.primary_key(session=session, tenant_id=tenant_uuid) if tenant else None
    if tenant is None or not tenant.is_active or key is None:
        return _unavailable(request)
    config = await public_config(db=db, settings=settings, tenant=tenant, key=key.key)
    return _javascript(request, _script(config))


@router.get(
    "/widget/loader.js",
    response_class=JavaScriptResponse,
    responses={304: SCRIPT_REPLIES[304]},
    summary="Legacy loader: reads data-widget-key from its tag",
)
@router.head("/widget/loader.js", include_in_schema=False)
async def loader(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    return _javascript(request, _script({"apiBase": settings.public_url}))


@router.options("/api/widget/config", include_in_schema=False)
async def config_preflight(request: Request) -> Response:
    return await door.preflight(request)


@router.get(
    "/api/widget/config",
    responses=problems(401, 403),
    summary="The widget's public configuration, for allowed sites",
)
async def widget_config(
    request: Request, caller: door.WidgetCaller, settings: SettingsDep
) -> Response:
    config = await public_config(
        db=get_database(request),
        settings=settings,
        tenant=caller.access.tenant,
        key=caller.access.key.key,
    )
    body = {
        "tenant_id": config["tenantId"],
        "persona": config["persona"],
        "appearance": config["appearance"],
        "greeting": config["greeting"],
        "language": config["language"],
        "challenge": config["challenge"],
    }
    return JSONResponse(body, headers={**caller.cors, "Cache-Control": "no-store"})
