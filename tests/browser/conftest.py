"""Real Chromium against real servers on loopback.

Bob runs under uvicorn in a thread of its own on a fresh SQLite database; two more servers play
the websites: the business's own site (an allowed origin) and a copycat site (not allowed).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bob import audit
from bob.accounts import service as accounts
from bob.auth import service as auth
from bob.db import migrate
from bob.db.session import Database
from bob.knowledge import service as knowledge
from bob.main import create_app
from bob.settings import Settings
from bob.widget import service as widget
from tests.conftest import IN_CI, make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OWNER_EMAIL = "owner@trail.example.com"
ADMIN_EMAIL = "admin@bob.example.com"
PASSWORD = "correct horse battery"
KNOWLEDGE = [
    (
        "Opening hours",
        "Our shop is open Monday to Friday from 9:00 to 18:00 and Saturday from 10:00 to "
        "14:00. We are closed on Sundays.",
    ),
    (
        "Returns policy",
        "You can return unused items within 30 days of delivery for a full refund.",
    ),
    ("営業時間", "営業時間は平日の午前9時から午後6時までです。"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server(uvicorn.Server):
    def capture_signals(self):
        # Servers run in threads; the test process keeps its own signal handling.
        import contextlib

        return contextlib.nullcontext()


class ServerThread:
    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = _Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = port

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Site:
    """A website on its own origin whose pages tests write."""

    port: int
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def page(request: Request) -> Response:
            html = self.pages.get(request.url.path)
            if html is None:
                return Response("not found", status_code=404)
            return HTMLResponse(html)

        return Starlette(routes=[Route("/{path:path}", page)])

    def put(self, path: str, body: str, *, head: str = "") -> str:
        self.pages[path] = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Test shop</title>{head}</head><body><h1>Test shop</h1>{body}</body></html>"
        )
        return self.origin + path


@dataclass
class Stack:
    settings: Settings
    bob: str
    tenant_id: str
    key: str
    shop: Site
    copycat: Site

    @property
    def bundle_tag(self) -> str:
        return f'<script src="{self.bob}/widget/{self.tenant_id}/widget.js" async></script>'

    def loader_tag(self, **attributes: str) -> str:
        extra = "".join(f' data-{k.replace("_", "-")}="{v}"' for k, v in attributes.items())
        return (
            f'<script src="{self.bob}/widget/loader.js" data-widget-key="{self.key}"{extra} '
            "async></script>"
        )


async def _seed(settings: Settings, shop_origin: str) -> tuple[str, str]:
    db = Database.of(settings)
    try:
        async with db.transaction() as session:
            created = await accounts.create_tenant(
                session=session,
                actor=audit.CLI,
                name="Trail Outfitters",
                business_id="trail-outfitters",
                plan="pro",
                owner_email=OWNER_EMAIL,
                owner_password=PASSWORD,
            )
            await auth.ensure_platform_admin(
                session=session,
                settings=settings,
                email=ADMIN_EMAIL,
                password=PASSWORD,
                actor=audit.CLI,
            )
            for title, content in KNOWLEDGE:
                await knowledge.create_item(
                    session=session,
                    settings=settings,
                    tenant_id=created.tenant.id,
                    actor=audit.CLI,
                    title=title,
                    content=content,
                )
            key = await widget.primary_key(session=session, tenant_id=created.tenant.id)
            assert key is not None
            await widget.update_key(
                session=session,
                tenant_id=created.tenant.id,
                actor=audit.CLI,
                key_id=key.id,
                label=None,
                allowed_origins=[shop_origin],
            )
            return str(created.tenant.id), key.key
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("browser-bob")
    bob_port = free_port()
    settings = make_settings(
        f"sqlite+aiosqlite:///{data_dir / 'bob.db'}",
        data_dir,
        public_url=f"http://127.0.0.1:{bob_port}",
        # The browser tests send many messages from one address.
        chat_limit_per_ip="1000/minute",
        # A new business signs up in the browser.
        allow_signup=True,
    )
    shop, copycat = Site(free_port()), Site(free_port())
    result: dict[str, tuple[str, str]] = {}

    def prepare() -> None:
        migrate.upgrade(settings)
        result["seed"] = asyncio.run(_seed(settings, shop.origin))

    worker = threading.Thread(target=prepare)
    worker.start()
    worker.join()
    tenant_id, key = result["seed"]
    with (
        ServerThread(create_app(settings), bob_port),
        ServerThread(shop.app(), shop.port),
        ServerThread(copycat.app(), copycat.port),
    ):
        yield Stack(settings, settings.public_url, tenant_id, key, shop, copycat)


@pytest.fixture(scope="session")
def chromium() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        if IN_CI:
            pytest.fail("Chromium is required for the browser tests under CI=true", pytrace=False)
        pytest.skip("Chromium is not installed (Debian package chromium; `make test` installs it)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@dataclass
class PageProbe:
    """A page plus everything it reported: console messages and uncaught errors."""

    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def messages(self, kind: str) -> list[str]:
        return [text for level, text in self.console if level == kind]


@pytest.fixture
async def open_page(browser: Any) -> AsyncIterator[Any]:
    contexts: list[Any] = []

    async def opener(url: str | None = None, **context_options: Any) -> PageProbe:
        context = await browser.new_context(**context_options)
        contexts.append(context)
        page = await context.new_page()
        probe = PageProbe(page)
        page.on("console", lambda msg: probe.console.append((msg.type, msg.text)))
        page.on("pageerror", lambda exc: probe.errors.append(str(exc)))
        if url is not None:
            await page.goto(url)
        return probe

    yield opener
    for context in contexts:
        await context.close()


async def log_in(
    open_page: Any, stack: Stack, *, admin: bool = False, email: str | None = None, **options: Any
) -> PageProbe:
    """A fresh browser context logged in through the HTML form, on the area's start page."""
    area = "mission-control" if admin else "portal"
    probe: PageProbe = await open_page(f"{stack.bob}/{area}/login", **options)
    page = probe.page
    await page.get_by_label("Email").fill(email or (ADMIN_EMAIL if admin else OWNER_EMAIL))
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(f"{stack.bob}/{area}**")
    return probe
