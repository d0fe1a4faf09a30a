"""`bob worker` and `bob serve` delivering webhooks as real processes: crash safety, several
workers sharing the queue, graceful stop, and the worker inside the server."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from bob import audit
from bob.db.session import Database
from bob.events import outbox
from bob.events.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks import endpoints as webhooks
from tests.cli.test_cli import (
    RunningBob,
    free_port,
    health_when_up,
    migrate_in_process,
    running_bob,
)
from tests.conftest import FreshDatabase, make_settings
from tests.factories import make_tenant
from tests.integration.webhooks.conftest import conversation
from tests.webhook_receiver import Receiver, Reply
from tests.webhook_receiver import receiver as receiver

# Loopback receivers, a short timeout (so the lease after a crash is 9 s) and quick retries.
WORKER_ENV: dict[str, str | None] = {
    "BOB_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
    "BOB_WEBHOOK_TIMEOUT_S": "2",
    "BOB_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2",
}


@dataclass
class Hooked:
    db: Database
    settings: Settings
    tenant: Tenant
    secret: str

    async def emit(self, count: int = 1) -> list[uuid.UUID]:
        """Commit `count` events, each in its own transaction, as the product does."""
        ids = []
        for _ in range(count):
            async with self.db.transaction() as session:
                event = await outbox.emit(
                    session=session,
                    tenant=self.tenant,
                    type="conversation.closed",
                    data=conversation("closed"),
                )
            ids.append(event.id)
        return ids

    async def deliveries(self) -> list[WebhookDelivery]:
        async with self.db.transaction() as session:
            return list(await session.scalars(select(WebhookDelivery)))

    async def attempt_workers(self) -> dict[str, int]:
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(WebhookAttempt.worker, func.count()).group_by(WebhookAttempt.worker)
            )
            return dict(rows.all())


@pytest.fixture
async def hooked(fresh_database: FreshDatabase, receiver: Receiver) -> AsyncIterator[Hooked]:
    """A migrated database with a tenant whose endpoint points at the receiver."""
    await migrate_in_process(fresh_database)
    settings = make_settings(
        fresh_database.url, fresh_database.data_dir, webhook_allow_private_networks=True
    )
    db = Database.of(fresh_database.settings)
    made = await make_tenant(db, settings)
    async with db.transaction() as session:
        _, secret = await webhooks.create_endpoint(
            session=session,
            settings=settings,
            tenant_id=made.tenant.id,
            actor=audit.CLI,
            url=f"{receiver.url}/hooks",
            event_types=["*"],
            description="",
            enabled=True,
        )
    yield Hooked(db, settings, made.tenant, secret)
    await db.dispose()


async def test_an_event_committed_before_kill_9_is_delivered_after_restart(
    fresh_database: FreshDatabase, hooked: Hooked, receiver: Receiver
) -> None:
    [event_id] = await hooked.emit()
    release = threading.Event()
    receiver.then(Reply(hold=release))  # the first attempt hangs in the receiver
    with running_bob(fresh_database, "worker", env=WORKER_ENV) as first:
        await asyncio.to_thread(receiver.wait_for, 1, 30)
        first.process.kill()  # mid-delivery: sent, but no answer recorded
        await asyncio.to_thread(first.process.wait, 10)
    release.set()
    [delivery] = await hooked.deliveries()
    assert delivery.status == DeliveryStatus.PENDING  # nothing lost, nothing marked done
    assert delivery.attempt_count == 0

    with running_bob(fresh_database, "worker", env=WORKER_ENV) as second:
        got = await asyncio.to_thread(receiver.wait_for, 2, 40)
        assert got[1].webhook_id == got[0].webhook_id == f"msg_{event_id.hex}"
        Webhook(hooked.secret).verify(got[1].body, got[1].headers)
        for _ in range(100):
            [delivery] = await hooked.deliveries()
            if delivery.status == DeliveryStatus.SUCCEEDED:
                break
            await asyncio.sleep(0.1)
        assert delivery.status == DeliveryStatus.SUCCEEDED, second.stderr
        assert delivery.attempt_count == 1


async def test_sigterm_lets_the_delivery_in_flight_finish_and_be_recorded(
    fresh_database: FreshDatabase, hooked: Hooked, receiver: Receiver
) -> None:
    await hooked.emit()
    receiver.then(Reply(delay=1.0))
    with running_bob(fresh_database, "worker", env=WORKER_ENV) as worker:
        await asyncio.to_thread(receiver.wait_for, 1, 30)
        code = await asyncio.to_thread(worker.terminate, 10)
        assert code == 0, worker.stderr
        assert "worker stopped" in worker.stderr
    [delivery] = await hooked.deliveries()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert len(receiver.requests) == 1


async def test_two_workers_on_postgresql_never_deliver_the_same_attempt_twice(
    backend: str, fresh_database: FreshDatabase, hooked: Hooked, receiver: Receiver
) -> None:
    if backend != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED, and so several workers, is the PostgreSQL path")
    receiver.default = Reply(delay=0.01)
    # A long poll interval: only PostgreSQL NOTIFY can wake the workers for the events below.
    env = {**WORKER_ENV, "BOB_WEBHOOK_POLL_INTERVAL_S": "60", "BOB_WEBHOOK_CONCURRENCY": "8"}
    total = 120
    with (
        running_bob(fresh_database, "worker", env=env) as one,
        running_bob(fresh_database, "worker", env=env) as two,
    ):
        for worker in (one, two):
            started = await asyncio.to_thread(worker.wait_for_output, "worker started", 30)
            assert started, worker.stderr
        emitted = await hooked.emit(total)
        got = await asyncio.to_thread(receiver.wait_for, total, 60)
        await asyncio.sleep(1)  # room for a duplicate to show up, if there were one
        for worker in (one, two):
            assert await asyncio.to_thread(worker.terminate, 10) == 0, worker.stderr
    got = receiver.requests
    assert len(got) == total
    assert {r.webhook_id for r in got} == {f"msg_{i.hex}" for i in emitted}
    deliveries = await hooked.deliveries()
    assert all(d.status == DeliveryStatus.SUCCEEDED for d in deliveries)
    assert all(d.attempt_count == 1 for d in deliveries)
    shares = await hooked.attempt_workers()
    assert len(shares) == 2, shares  # both workers took part
    assert sum(shares.values()) == total


async def test_bob_serve_delivers_in_process_unless_told_not_to(
    backend: str, fresh_database: FreshDatabase, hooked: Hooked, receiver: Receiver
) -> None:
    port = free_port()
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {**WORKER_ENV, "BOB_INPROCESS_WORKER": "false"}
    with running_bob(fresh_database, *serve, env=env) as server:
        await _serving(server, port)
        await hooked.emit()
        await asyncio.sleep(3)
        assert receiver.requests == [], "the server delivered with its worker switched off"
        assert await asyncio.to_thread(server.terminate, 10) is not None

    with running_bob(fresh_database, *serve, env=WORKER_ENV) as server:
        await _serving(server, port)
        got = await asyncio.to_thread(receiver.wait_for, 1, 30)
        Webhook(hooked.secret).verify(got[0].body, got[0].headers)
        assert await asyncio.to_thread(server.terminate, 10) is not None
        assert "worker stopped" in server.stderr


async def _serving(server: RunningBob, port: int) -> None:
    response = await health_when_up(server, port, within_s=30)
    assert response is not None, server.stderr
    assert response.status_code == 200, server.stderr
