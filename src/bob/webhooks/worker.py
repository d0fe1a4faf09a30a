"""The delivery worker: claims due deliveries, POSTs them signed, records what happened.

Claiming sets a lease (`next_attempt_at` moves past the time a delivery can take) and a claim
token in one short transaction; the HTTP call happens outside any transaction; the result is
recorded only if the token still matches. A worker killed mid-delivery therefore loses nothing:
its lease runs out and the delivery is claimed again. On PostgreSQL the claim uses
`FOR UPDATE SKIP LOCKED`, so any number of workers share the queue without taking the same row;
on SQLite the claim transaction holds the single write lock (BEGIN IMMEDIATE), which makes the
claimer single by construction.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpcore
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import __version__, audit
from bob.auth.tokens import SecretUnreadable
from bob.db import wakeups
from bob.db.session import Database
from bob.db.types import utcnow
from bob.events import outbox
from bob.events.models import (
    DeliveryStatus,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from bob.jobs import runner as job_runner
from bob.net.guard import GuardedBackend, UnsafeTarget
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks import signing

log = logging.getLogger("bob.webhooks")

DISABLE_AFTER = timedelta(days=5)
RESPONSE_EXCERPT_BYTES = 1024
JITTER = 0.1  # each retry waits up to 10% longer, so a receiver's recovery is not a stampede
PRUNE_EVERY_S = 3600.0
RELISTEN_EVERY_S = 30.0
_PRUNE_BATCH = 1000
_USER_AGENT = f"Bob-Webhooks/{__version__}"


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with everything needed to send it read inside the claim."""

    delivery_id: uuid.UUID
    token: uuid.UUID
    url: str
    msg_id: str
    body: str
    secrets: list[str] | None  # None: the stored secret cannot be read


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    latency_ms: int
    response_body: str | None
    error: str | None


def retry_delay(settings: Settings, failures: int) -> float | None:
    """Seconds before the next attempt after `failures` failures in a row; None: give up."""
    schedule = settings.webhook_retry_schedule
    if failures > len(schedule):
        return None
    return schedule[failures - 1] * (1 + random.uniform(0, JITTER))  # noqa: S311 - not secret


def lease_for(settings: Settings) -> timedelta:
    # Longer than any attempt can last (the timeout bounds the whole call) plus recording it.
    return timedelta(seconds=2 * settings.webhook_timeout_s + 5)


class Worker:
    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        name: str | None = None,
        work: job_runner.Work | None = None,
    ) -> None:
        """`work`: the background jobs this worker runs besides deliveries (the app passes
        knowledge/jobs.py's); without it, it delivers webhooks only."""
        self.db = db
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease_for(settings)
        # One connection at a time per worker: its database work is milliseconds next to the
        # HTTP calls, and it keeps the worker's footprint on the pool to one.
        self._db_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: httpcore.AsyncConnectionPool | None = None
        # Background jobs (indexing, imports) share this worker's wake-ups and lifetime.
        self.jobs = job_runner.JobRunner(
            db=db, settings=settings, name=self.name, work=work or job_runner.Work(), wake=self.wake
        )

    # ---- running ------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the queue now (safe to call from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; deliveries in flight then finish before returning."""
        self._loop = asyncio.get_running_loop()
        stop_listening = wakeups.on_commit_with_work(self.wake)
        listener = await self._listen()
        next_listen = time.monotonic() + RELISTEN_EVERY_S
        in_flight: set[asyncio.Task[None]] = set()
        next_prune = 0.0
        concurrency = self.settings.webhook_concurrency
        log.info("webhook worker started as %s", self.name)
        self.jobs.start()
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_prune:
                    await self._guarded(self.prune())
                    next_prune = now + PRUNE_EVERY_S
                if not self.db.is_sqlite and now >= next_listen:
                    # A database restart closes the LISTEN connection: without this, wake-ups
                    # from other processes would stop and only polling would be left.
                    if listener is None or not listener.alive():
                        if listener is not None:
                            await listener.close()
                        listener = await self._listen()
                    next_listen = now + RELISTEN_EVERY_S
                self._wake.clear()
                await self._guarded(self.jobs.poll())
                free = concurrency - len(in_flight)
                jobs = await self._guarded(self._claim(free), default=[]) if free else []
                for job in jobs:
                    task = asyncio.create_task(self._process(job))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if free and len(jobs) == free:
                    continue  # the queue may hold more that is due
                await self._idle(stop, list(in_flight) if len(in_flight) >= concurrency else [])
        finally:
            # Graceful stop: what was sent gets recorded (each call is bounded by the timeout).
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            await self.jobs.stop()
            stop_listening()
            if listener is not None:
                await listener.close()
            await self.close()
            log.info("webhook worker stopped (%s)", self.name)

    async def _idle(self, stop: asyncio.Event, busy: list[asyncio.Task[None]]) -> None:
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
        try:
            await asyncio.wait(
                [*waiters, *busy],
                timeout=self.settings.webhook_poll_interval_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _guarded(self, work: Awaitable[Any], default: Any = None) -> Any:
        # A database hiccup must not end the worker: log it and try again on the next round.
        try:
            return await work
        except Exception:
            log.exception("webhook worker %s: database work failed; retrying", self.name)
            return default

    async def _listen(self) -> _Listener | None:
        """PostgreSQL NOTIFY wakes this worker when another process queues deliveries."""
        if self.db.is_sqlite:
            return None
        try:
            connection = await self.db.engine.connect()
            raw = await connection.get_raw_connection()
            listener = _Listener(connection, raw.driver_connection, self.wake)
            await listener.start()
        except Exception:
            log.warning("cannot LISTEN for new deliveries; polling until it can", exc_info=True)
            return None
        return listener

    async def run_once(self) -> int:
        """Claim what is due (up to the concurrency) and deliver it; returns how many."""
        jobs = await self._claim(self.settings.webhook_concurrency)
        await asyncio.gather(*(self._process(job) for job in jobs))
        return len(jobs)

    async def drain(self) -> int:
        """Deliver until nothing is due; returns the attempts made."""
        total = 0
        while count := await self.run_once():
            total += count
        return total

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    # ---- the three steps ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._db_lock, self.db.transaction() as session:
            yield session

    async def _claim(self, limit: int) -> list[Job]:
        now = utcnow()
        query = (
            select(WebhookDelivery, WebhookEndpoint, Event)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
        if not self.db.is_sqlite:
            query = query.with_for_update(of=WebhookDelivery, skip_locked=True)
        jobs: list[Job] = []
        async with self._transaction() as session:
            for delivery, endpoint, event in await session.execute(query):
                delivery.claim_token = uuid.uuid4()
                delivery.next_attempt_at = now + self.lease
                try:
                    secrets: list[str] | None = signing.signing_secrets(
                        self.settings, endpoint, now
                    )
                except SecretUnreadable:
                    secrets = None
                jobs.append(
                    Job(
                        delivery_id=delivery.id,
                        token=delivery.claim_token,
                        url=endpoint.url,
                        msg_id=signing.message_id(event.id),
                        body=json.dumps(event.payload, ensure_ascii=False, separators=(",", ":")),
                        secrets=secrets,
                    )
                )
        return jobs

    async def _process(self, job: Job) -> None:
        try:
            outcome = await self.send(job)
            await self._record(job, outcome)
        except Exception:
            # The lease runs out and the delivery is tried again; nothing is lost.
            log.exception("webhook delivery %s could not be recorded", job.delivery_id)

    def _http(self) -> httpcore.AsyncConnectionPool:
        if self._pool is None:
            self._pool = httpcore.AsyncConnectionPool(
                max_connections=self.settings.webhook_concurrency,
                keepalive_expiry=30,
                network_backend=GuardedBackend(
                    allow_private=self.settings.webhook_allow_private_networks
                ),
            )
        return self._pool

    async def send(self, job: Job) -> Outcome:
        """One attempt: POST with a 10 s budget for everything, no redirects, 2xx is success."""
        started = time.perf_counter()

        def outcome(
            ok: bool, *, status: int | None = None, body: str | None = None, error: str | None
        ) -> Outcome:
            latency = round((time.perf_counter() - started) * 1000)
            return Outcome(ok, status, latency, body, error)

        if job.secrets is None:
            return outcome(
                False,
                error="the signing secret cannot be read (the installation secret "
                "changed); rotate the endpoint's secret",
            )
        timeout = self.settings.webhook_timeout_s
        headers = {
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
            **signing.headers(
                secrets=job.secrets, msg_id=job.msg_id, timestamp=utcnow(), body=job.body
            ),
        }
        try:
            async with asyncio.timeout(timeout):
                async with self._http().stream(
                    "POST", job.url, headers=list(headers.items()), content=job.body.encode()
                ) as response:
                    excerpt = await _read_prefix(response, RESPONSE_EXCERPT_BYTES)
        except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
            # Before the timeouts: a ConnectTimeout is also an httpcore.TimeoutException.
            return outcome(False, error=f"could not connect: {exc or type(exc).__name__}")
        except (TimeoutError, httpcore.TimeoutException):
            return outcome(False, error=f"no answer within {timeout:g} s")
        except UnsafeTarget as exc:
            return outcome(False, error=f"refused: {exc}")
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            return outcome(False, error=f"connection failed: {exc or type(exc).__name__}")
        except httpcore.UnsupportedProtocol as exc:
            return outcome(False, error=f"unsupported URL: {exc}")
        except Exception as exc:
            # Recorded as a failed attempt, so the schedule still ends; left unrecorded, the
            # lease would bring it back forever.
            log.exception("webhook delivery %s failed unexpectedly", job.delivery_id)
            return outcome(False, error=f"unexpected error: {type(exc).__name__}")
        status = response.status
        if 200 <= status < 300:
            return outcome(True, status=status, body=excerpt, error=None)
        reason = f"HTTP {status}"
        if 300 <= status < 400:
            reason += " (redirects are not followed; use the final URL)"
        return outcome(False, status=status, body=excerpt, error=reason)

    async def _record(self, job: Job, outcome: Outcome) -> None:
        now = utcnow()
        async with self._transaction() as session:
            # Delivery and endpoint in one read, before anything changes, so the changes below
            # go out as one UPDATE per row at commit.
            query = (
                select(WebhookDelivery, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(
                    WebhookDelivery.id == job.delivery_id,
                    WebhookDelivery.claim_token == job.token,
                )
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(of=WebhookDelivery)
            row = (await session.execute(query)).first()
            if row is None:
                # The lease ran out and another worker took over (or the endpoint was deleted).
                log.warning("webhook delivery %s: lease lost before recording", job.delivery_id)
                return
            delivery, endpoint = row
            delivery.attempt_count += 1
            delivery.last_attempt_at = now
            delivery.claim_token = None
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    tenant_id=delivery.tenant_id,
                    number=delivery.attempt_count,
                    attempted_at=now - timedelta(milliseconds=outcome.latency_ms),
                    succeeded=outcome.succeeded,
                    status_code=outcome.status_code,
                    latency_ms=outcome.latency_ms,
                    response_body=outcome.response_body,
                    error=outcome.error[:500] if outcome.error else None,
                    worker=self.name[:120],
                )
            )
            if outcome.succeeded:
                delivery.status = DeliveryStatus.SUCCEEDED
                delivery.next_attempt_at = None
                if endpoint.failing_since is not None:
                    endpoint.failing_since = None
                return
            delivery.failures_in_run += 1
            delay = retry_delay(self.settings, delivery.failures_in_run)
            if delay is None:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + timedelta(seconds=delay)
            await self._note_failure(session, endpoint, now)

    async def _note_failure(
        self, session: AsyncSession, endpoint: WebhookEndpoint, now: datetime
    ) -> None:
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            return
        if not endpoint.enabled or now - endpoint.failing_since < DISABLE_AFTER:
            return
        since = endpoint.failing_since
        endpoint.enabled = False
        endpoint.disabled_at = now
        endpoint.disabled_reason = (
            f"every delivery failed for {DISABLE_AFTER.days} days "
            f"(since {since:%Y-%m-%d %H:%M} UTC); fix the receiver, then enable the endpoint"
        )
        tenant = await session.get(Tenant, endpoint.tenant_id)
        if tenant is None:
            return
        await outbox.emit(
            session=session,
            tenant=tenant,
            type="webhook.endpoint_disabled",
            data={
                "endpoint": {
                    "id": str(endpoint.id),
                    "url": endpoint.url,
                    "failing_since": since.isoformat(),
                    "disabled_at": now.isoformat(),
                },
                "reason": endpoint.disabled_reason,
            },
        )
        await audit.record(
            session,
            endpoint.tenant_id,
            audit.SYSTEM,
            "webhook.endpoint_disabled",
            target=("webhook_endpoint", endpoint.id),
            data={"url": endpoint.url, "failing_since": since.isoformat()},
        )
        log.warning("disabled webhook endpoint %s after %s of failures", endpoint.id, DISABLE_AFTER)

    async def prune(self) -> int:
        """Forget events (and with them deliveries and attempts) older than the retention."""
        cutoff = utcnow() - timedelta(days=self.settings.webhook_retention_days)
        total = 0
        while True:
            async with self._transaction() as session:
                batch = select(Event.id).where(Event.created_at < cutoff).limit(_PRUNE_BATCH)
                result = await session.execute(
                    delete(Event)
                    .where(Event.id.in_(batch))
                    .execution_options(synchronize_session=False)
                )
            removed = int(getattr(result, "rowcount", 0) or 0)
            total += removed
            if removed < _PRUNE_BATCH:
                break
        if total:
            log.info("pruned %d webhook events older than %s", total, cutoff.date())
        return total


class _Listener:
    """A connection LISTENing on the webhook channel (asyncpg)."""

    def __init__(self, connection: Any, driver: Any, wake: Callable[[], None]) -> None:
        self._connection = connection
        self._driver = driver
        self._wake = wake

    def _notified(self, *_: object) -> None:
        self._wake()

    async def start(self) -> None:
        await self._driver.add_listener(wakeups.NOTIFY_CHANNEL, self._notified)

    def alive(self) -> bool:
        return not self._driver.is_closed()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._driver.remove_listener(wakeups.NOTIFY_CHANNEL, self._notified)
        with contextlib.suppress(Exception):
            await self._connection.close()


async def _read_prefix(response: httpcore.Response, limit: int) -> str:
    """The first `limit` bytes of the body, for the delivery log; the rest is never read."""
    collected = b""
    async for chunk in response.aiter_stream():
        collected += chunk
        if len(collected) >= limit:
            break
    return collected[:limit].decode("utf-8", errors="replace")
