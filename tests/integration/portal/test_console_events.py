"""The console's live stream, against Bob under uvicorn on loopback (httpx's in-process
transport does not stream): what a logged-in operator hears, and what nobody else does."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bob.auth.permissions import Role
from bob.db import migrate
from bob.db.session import Database
from bob.events import outbox
from bob.main import create_app
from bob.settings import Settings
from bob.web import live
from tests.browser.conftest import ServerThread, free_port
from tests.conftest import make_settings
from tests.factories import make_member, unique
from tests.integration.portal.conftest import Pages
from tests.integration.portal.test_console_pages import (
    ASK_FOR_A_PERSON,
    Shop,
    Visitor,
    make_shop,
)

EVENTS = "/portal/conversations/events"
WAIT_S = 15.0


@dataclass
class LiveBob:
    url: str
    settings: Settings
    shop: Shop
    other: Shop
    viewer_email: str


async def _seed(settings: Settings) -> tuple[Shop, Shop, str]:
    db = Database.of(settings)
    try:
        shop, other = await make_shop(db, settings), await make_shop(db, settings)
        viewer = await make_member(db, settings, shop.made.tenant, Role.VIEWER)
        return shop, other, viewer.email
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def live_bob(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBob]:
    data_dir = tmp_path_factory.mktemp("console-events")
    port = free_port()
    settings = make_settings(
        f"sqlite+aiosqlite:///{data_dir / 'bob.db'}",
        data_dir,
        public_url=f"http://127.0.0.1:{port}",
        chat_limit_per_ip="1000/minute",
    )
    seeded: dict[str, tuple[Shop, Shop, str]] = {}

    def prepare() -> None:
        # Its own thread: migrations and the seed run their own event loops.
        migrate.upgrade(settings)
        seeded["done"] = asyncio.run(_seed(settings))

    worker = threading.Thread(target=prepare)
    worker.start()
    worker.join()
    shop, other, viewer_email = seeded["done"]
    with ServerThread(create_app(settings), port):
        yield LiveBob(settings.public_url, settings, shop, other, viewer_email)


@pytest.fixture
async def browser_like(live_bob: LiveBob) -> AsyncIterator[Callable[[], Pages]]:
    clients: list[httpx.AsyncClient] = []

    def make() -> Pages:
        client = httpx.AsyncClient(base_url=live_bob.url, timeout=WAIT_S)
        clients.append(client)
        return Pages(client)

    yield make
    for client in clients:
        await client.aclose()


async def visitor_asks_for_a_person(live_bob: LiveBob, shop: Shop) -> Visitor:
    client = httpx.AsyncClient(base_url=live_bob.url, timeout=WAIT_S)
    async with client:
        someone = Visitor(client, shop, unique("Visitor"))
        reply = await someone.says(ASK_FOR_A_PERSON)
    assert reply["conversation_status"] == "pending_human"
    return someone


class Stream:
    """Server-sent events as (name, data) pairs, read with a deadline."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def _next(self) -> tuple[str, Any]:
        name, data = "", ""
        async for line in self.lines:
            if not line:
                if name:
                    return name, json.loads(data) if data else None
                continue
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data += line[len("data: ") :]
        raise EOFError("the stream ended")

    async def next(self) -> tuple[str, Any]:
        return await asyncio.wait_for(self._next(), WAIT_S)

    async def until(self, wanted: Callable[[str, Any], bool]) -> list[tuple[str, Any]]:
        """Every event up to and including the first `wanted` one."""
        seen: list[tuple[str, Any]] = []

        async def read() -> None:
            while True:
                event = await self._next()
                seen.append(event)
                if wanted(*event):
                    return

        await asyncio.wait_for(read(), WAIT_S)
        return seen


def handoff_of(someone: Visitor) -> Callable[[str, Any], bool]:
    def wanted(name: str, data: Any) -> bool:
        return (
            name == "conversation.handoff_requested"
            and data["data"]["conversation"]["session_id"] == someone.session_id
        )

    return wanted


async def test_an_operator_hears_new_handoffs_of_their_own_business_only(
    live_bob: LiveBob, browser_like: Callable[[], Pages]
) -> None:
    operator = browser_like()
    await operator.login(live_bob.shop.made.owner_email)
    earlier = await visitor_asks_for_a_person(live_bob, live_bob.shop)
    async with operator.client.stream("GET", EVENTS) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        assert (await stream.next())[0] == "ready"
        # The other business's handoff commits first: were it leaked, it would arrive first.
        theirs = await visitor_asks_for_a_person(live_bob, live_bob.other)
        ours = await visitor_asks_for_a_person(live_bob, live_bob.shop)
        heard = await stream.until(handoff_of(ours))
    tenants = {data["data"]["tenant_id"] for _, data in heard}
    assert tenants == {str(live_bob.shop.tenant_id)}
    sessions = {data["data"]["conversation"]["session_id"] for _, data in heard}
    assert theirs.session_id not in sessions
    # What happened before the stream began is on the page already; it is not sent again.
    assert earlier.session_id not in sessions
    assert {"conversation.created", "message.created"} <= {name for name, _ in heard}


async def test_a_window_busier_than_one_batch_still_lets_new_events_through(
    live_bob: LiveBob, browser_like: Callable[[], Pages], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each handoff writes four events; two of them already fill more than two batches.
    monkeypatch.setattr(outbox, "LIVE_BATCH", 3)
    operator = browser_like()
    await operator.login(live_bob.shop.made.owner_email)
    for _ in range(2):
        await visitor_asks_for_a_person(live_bob, live_bob.shop)
    async with operator.client.stream("GET", EVENTS) as response:
        stream = Stream(response)
        assert (await stream.next())[0] == "ready"
        ours = await visitor_asks_for_a_person(live_bob, live_bob.shop)
        heard = await stream.until(handoff_of(ours))
    assert heard[-1][0] == "conversation.handoff_requested"


async def test_the_stream_ends_when_the_login_does(
    live_bob: LiveBob, browser_like: Callable[[], Pages], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "RECHECK_S", 0.5)
    operator = browser_like()
    await operator.login(live_bob.shop.made.owner_email)
    await operator.get("/portal/conversations")
    async with operator.client.stream("GET", EVENTS) as response:
        stream = Stream(response)
        assert (await stream.next())[0] == "ready"
        logout = await operator.post("/portal/logout")
        assert logout.status_code == 303
        assert (await stream.next())[0] == "end"
        with pytest.raises(EOFError):
            await stream.next()
    again = await operator.client.get(EVENTS)
    assert again.status_code == 303


async def test_no_stream_without_a_login_and_a_viewer_may_follow(
    live_bob: LiveBob, browser_like: Callable[[], Pages]
) -> None:
    stranger = browser_like()
    response = await stranger.client.get(EVENTS)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login?next=%2Fportal%2Fconversations%2Fevents"
    assert not response.headers.get("content-type", "").startswith("text/event-stream")

    # Reading conversations is enough to follow them.
    viewer = browser_like()
    await viewer.login(live_bob.viewer_email)
    async with viewer.client.stream("GET", EVENTS) as streamed:
        assert streamed.status_code == 200
        assert (await Stream(streamed).next())[0] == "ready"
