"""The application factory: middleware, error mapping, routers, templates and static files."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from bob import __version__, audit, openapi
from bob.accounts.router import router as accounts_router
from bob.admin.router import router as mission_control_router
from bob.analytics.router import router as analytics_router
from bob.anonymous.router import router as anonymous_router
from bob.auth import service as auth
from bob.auth.router import router as auth_router
from bob.billing import subscriptions
from bob.billing.router import router as billing_router
from bob.chat import person_requests
from bob.chat.router import router as chat_router
from bob.db import migrate
from bob.db.session import Database
from bob.deps import error_headers
from bob.docsite.router import router as docs_router
from bob.engines import openai as model_clients
from bob.engines.router import router as engine_router
from bob.errors import BobError, ConfigurationError, error_body, validation_problem
from bob.governance.router import router as audit_router
from bob.health import router as health_router
from bob.knowledge import embeddings
from bob.knowledge import jobs as knowledge_jobs
from bob.knowledge.router import router as knowledge_router
from bob.knowledge.service import MAX_IMPORT_BYTES
from bob.middleware import RequestGuardMiddleware, RequestIdMiddleware, SecurityHeadersMiddleware
from bob.personas.router import router as personas_router
from bob.portal.router import router as portal_router
from bob.ratelimit import RateLimiter, make_storage
from bob.settings import Settings
from bob.web import page as web
from bob.webhooks.router import router as webhooks_router
from bob.webhooks.worker import Worker
from bob.widget.bundle import router as widget_bundle_router
from bob.widget.router import router as widget_router

log = logging.getLogger("bob")
# A knowledge import takes a file of up to MAX_IMPORT_BYTES, more than the body limit of every
# other request; the margin is the multipart framing around the file.
IMPORT_PATHS = ("/api/knowledge/import", "/portal/knowledge/import")
IMPORT_BODY_BYTES = MAX_IMPORT_BYTES + 64 * 1024
PACKAGE_DIR = Path(__file__).parent
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _request_id_header(request: Request) -> dict[str, str]:
    value = request.scope.get("state", {}).get("request_id")
    return {"X-Request-ID": str(value)} if value else {}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(web.LoginRequired)
    async def login_required(request: Request, exc: web.LoginRequired) -> RedirectResponse:
        return RedirectResponse(exc.location(), status_code=303)

    @app.exception_handler(BobError)
    async def bob_error(request: Request, exc: BobError) -> Response:
        headers = exc.headers()
        if web.is_page_request(request):
            page = web.error_page(request, exc.status_code, exc.message)
            page.headers.update(headers)
            return page
        door = error_headers(request)
        if door is not None:
            # A widget door: its caller is a key and an origin, not a Bearer login.
            headers = {**door, **headers}
        elif exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problem = validation_problem(exc.errors())
        if web.is_page_request(request):
            return web.error_page(request, problem.status_code, problem.message)
        return JSONResponse(
            problem.body(), status_code=problem.status_code, headers=error_headers(request)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such path: {request.url.path}"
        if web.is_page_request(request) and exc.status_code in (404, 405):
            return web.error_page(request, exc.status_code, message)
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside the other middleware, so the request id is added here by hand.
        log.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse(
            error_body("internal_error", "something went wrong on our side; it has been logged"),
            status_code=500,
            headers=_request_id_header(request),
        )


async def _bootstrap_admin(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if not (settings.bootstrap_admin_email and settings.bootstrap_admin_password):
        return
    db: Database = app.state.db
    async with db.transaction() as session:
        _, created = await auth.ensure_platform_admin(
            session=session,
            settings=settings,
            email=settings.bootstrap_admin_email,
            password=settings.bootstrap_admin_password.get_secret_value(),
            actor=audit.SYSTEM,
        )
    if created:
        log.info("created platform admin %s", settings.bootstrap_admin_email)


async def check_migrated(db: Database, settings: Settings) -> None:
    async with db.engine.connect() as connection:
        current = await connection.run_sync(migrate.current_revisions)
    if current != migrate.head_revisions(settings):
        raise ConfigurationError(
            "the database is not migrated to this version of Bob; run `bob migrate` first"
        )


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    settings.check()
    db = database or Database.of(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await check_migrated(db, settings)
        await _bootstrap_admin(app)
        await embeddings.preload(settings)
        await person_requests.prepare(settings)
        stop = asyncio.Event()
        worker = (
            asyncio.create_task(
                Worker(db=db, settings=settings, work=knowledge_jobs.WORK).run(stop)
            )
            if settings.inprocess_worker
            else None
        )
        try:
            yield
        finally:
            if worker is not None:
                stop.set()  # in-flight deliveries finish and are recorded first
                await worker
            await model_clients.close_clients()
            if database is None:
                await db.dispose()

    app = FastAPI(
        title="Bob",
        version=__version__,
        description="A self-hostable, multi-tenant governed AI front office.",
        openapi_url="/api/openapi.json",
        # The reference lives at /docs (our own pages): Swagger UI would load its code from a CDN.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.low_credits = subscriptions.low_credits_notice
    app.state.limiter = RateLimiter(make_storage(settings.redis_url))
    app.state.templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")

    _install_error_handlers(app)
    # Added innermost first: the request id wraps everything, so even a 413 carries one.
    app.add_middleware(
        RequestGuardMiddleware,
        max_bytes=settings.max_body_bytes,
        path_limits=dict.fromkeys(IMPORT_PATHS, IMPORT_BODY_BYTES),
    )
    app.add_middleware(
        SecurityHeadersMiddleware,
        hsts=settings.secure_cookies,
        frameable_prefixes=("/widget/",),
        vary_origin_prefixes=("/api/chat", "/api/widget/"),
    )
    app.add_middleware(RequestIdMiddleware)

    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(accounts_router)
    app.include_router(audit_router)
    app.include_router(portal_router)
    app.include_router(knowledge_router)
    app.include_router(chat_router)
    app.include_router(anonymous_router)
    app.include_router(personas_router)
    app.include_router(widget_router)
    app.include_router(widget_bundle_router)
    app.include_router(engine_router)
    app.include_router(billing_router)
    app.include_router(webhooks_router)
    app.include_router(analytics_router)
    app.include_router(mission_control_router)
    app.include_router(docs_router)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs() -> RedirectResponse:
        return RedirectResponse("/docs/api", status_code=308)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # No icon yet; answering 204 keeps browsers' consoles free of a 404 on every page.
        return Response(status_code=204)

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> HTMLResponse:
        templates: Jinja2Templates = request.app.state.templates
        # The installation's own site: its chat box is door 1 for the platform tenant, whose
        # knowledge the platform admins keep in Mission Control (`bob demo` writes some).
        return templates.TemplateResponse(
            request,
            "index.html",
            {
                "platform_name": "Bob",
                "version": __version__,
                "business_id": settings.platform_business_id,
            },
        )

    openapi.install(app)
    return app


def app_from_env() -> FastAPI:
    """Import-string factory for `uvicorn --factory` with several worker processes."""
    return create_app(Settings())
