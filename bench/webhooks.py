"""Webhook delivery: throughput of `bob worker` processes, and commit-to-receipt delay.

Deliveries go to a real HTTP receiver on 127.0.0.1 in this process. Throughput is measured with
one worker process (the baseline) and, on PostgreSQL, with two; the delay is measured with the
wake-up on commit and, as the baseline, with polling only. PostgreSQL runs when
BOB_TEST_DATABASE_URL (or BOB_BENCH_DATABASE_URL) is set.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bob import audit
from bob.accounts import service as accounts
from bob.db import migrate, wakeups
from bob.db.session import Database
from bob.events import outbox
from bob.events.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.webhooks import endpoints as webhooks
from bob.webhooks import signing
from bob.webhooks.worker import Worker

EVENTS = 1000  # pre-loaded for each throughput run
PRELOAD_BATCH = 250  # events per pre-load transaction
PACED_EVENTS = 200  # committed one at a time for each delay run
PACE_PER_S = 20.0
CONCURRENCY = 16  # BOB_WEBHOOK_CONCURRENCY, the default
THROUGHPUT_POLL_S = 0.1  # only matters when a worker is idle
WAKE_POLL_S = 30.0  # long: the wake-up, not the poll, must deliver
POLL_ONLY_S = 1.0  # the default poll interval
SECRET = "bench-" + "x1y2z3w4" * 6
DEADLINE_S = 120.0
_UNHEARD = "bob_bench_nobody_listens"

# ---- the receiver ----------------------------------------------------------------------------


@dataclass
class _Path:
    first: dict[str, float] = field(default_factory=dict)  # webhook-id -> first arrival
    total: int = 0
    last: float = 0.0


class Receiver:
    """ThreadingHTTPServer on loopback (HTTP/1.1 keep-alive): answers 200 at once and records
    each webhook-id with time.time() on arrival, per URL path."""

    def __init__(self) -> None:
        self._paths: dict[str, _Path] = {}
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver._record(self.path, self.headers.get("webhook-id", ""), time.time())
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # many workers connect at once; 5 would drop SYNs

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, path: str, webhook_id: str, at: float) -> None:
        with self._changed:
            seen = self._paths.setdefault(path, _Path())
            seen.first.setdefault(webhook_id, at)
            seen.total += 1
            seen.last = at
            self._changed.notify_all()

    def wait_for(self, path: str, distinct: int, timeout: float) -> _Path:
        with self._changed:
            done = self._changed.wait_for(
                lambda: len(self._paths.get(path, _Path()).first) >= distinct, timeout
            )
            seen = self._paths.get(path, _Path())
            if not done:
                raise SystemExit(f"{path}: {len(seen.first)} of {distinct} webhooks arrived")
            return _Path(dict(seen.first), seen.total, seen.last)

    def seen(self, path: str) -> _Path:
        with self._changed:
            seen = self._paths.get(path, _Path())
            return _Path(dict(seen.first), seen.total, seen.last)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---- worker processes ------------------------------------------------------------------------


class WorkerProcess:
    """`bob worker` as a subprocess; stderr is collected by a thread."""

    def __init__(self, settings: Settings, data_dir: Path, poll_s: float) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOB_")}
        env.update(
            {
                "BOB_ENV": "development",
                "BOB_DATABASE_URL": settings.database_url,
                "BOB_SECRET_KEY": SECRET,
                "BOB_DATA_DIR": str(data_dir),
                "BOB_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
                "BOB_WEBHOOK_CONCURRENCY": str(CONCURRENCY),
                "BOB_WEBHOOK_POLL_INTERVAL_S": str(poll_s),
                "BOB_LOG_LEVEL": "INFO",
            }
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bob.cli", "worker"],
            env=env,
            cwd=data_dir,  # no .env from the repository
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self._lines)

    def wait_started(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "webhook worker started as" not in self.stderr:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise SystemExit(f"bob worker did not start:\n{self.stderr}")
            time.sleep(0.02)

    def cpu_seconds(self) -> float | None:
        """User + system CPU the process has used so far (Linux /proc; None elsewhere)."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM; the worker must finish what is in flight and exit 0."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        if code != 0:
            raise SystemExit(f"bob worker exited with {code} on SIGTERM:\n{self.stderr}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


@contextmanager
def _workers(
    settings: Settings, data_dir: Path, count: int, poll_s: float
) -> Iterator[list[WorkerProcess]]:
    running: list[WorkerProcess] = []
    try:
        for _ in range(count):
            running.append(WorkerProcess(settings, data_dir, poll_s))
        for worker in running:
            worker.wait_started()
        yield running
        for worker in running:
            worker.stop()
    finally:
        for worker in running:
            worker.kill()


# ---- the database side -----------------------------------------------------------------------


def _settings(url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "development",
        "data_dir": data_dir,
        "database_url": url,
        "secret_key": SECRET,
        "inprocess_worker": False,
        "webhook_allow_private_networks": True,
        "webhook_concurrency": CONCURRENCY,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@dataclass
class Hooked:
    tenant: Tenant
    endpoint_id: uuid.UUID
    path: str


async def _hooked(db: Database, settings: Settings, receiver: Receiver, label: str) -> Hooked:
    """A tenant of its own whose one endpoint points at the receiver under /label."""
    async with db.transaction() as session:
        created = await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name=label,
            business_id=label,
            plan="enterprise",
            owner_email=f"owner@{label}.example.com",
            owner_password="bench password 1",
        )
        endpoint, _ = await webhooks.create_endpoint(
            session=session,
            settings=settings,
            tenant_id=created.tenant.id,
            actor=audit.CLI,
            url=f"{receiver.url}/{label}",
            event_types=["*"],
            description="",
            enabled=True,
        )
    return Hooked(created.tenant, endpoint.id, f"/{label}")


async def _emit(db: Database, hooked: Hooked, count: int) -> list[str]:
    """`count` events in one transaction; returns their webhook-ids."""
    ids = []
    async with db.transaction() as session:
        for _ in range(count):
            event = await outbox.emit(
                session=session,
                tenant=hooked.tenant,
                type="conversation.closed",
                data={
                    "conversation": {
                        "id": str(uuid.uuid4()),
                        "session_id": "bench",
                        "channel": "widget",
                        "status": "closed",
                    }
                },
            )
            ids.append(signing.message_id(event.id))
    return ids


async def _set_enabled(db: Database, settings: Settings, hooked: Hooked, enabled: bool) -> None:
    # Enabling announces the waiting deliveries (NOTIFY on PostgreSQL), as the product does.
    async with db.transaction() as session:
        await webhooks.update_endpoint(
            session=session,
            settings=settings,
            tenant_id=hooked.tenant.id,
            actor=audit.CLI,
            endpoint_id=hooked.endpoint_id,
            changes={"enabled": enabled},
        )


@dataclass
class Throughput:
    seconds: float  # from the enabling commit to the last arrival
    cpu: float | None  # CPU seconds the worker processes used meanwhile
    receiver_cpu: float  # CPU seconds this process (the receiver's threads) used meanwhile
    distinct: int  # webhook-ids the receiver got
    received: int  # requests the receiver got
    succeeded: int  # deliveries recorded as succeeded
    attempts: list[int]  # attempts recorded, per worker process

    @property
    def rate(self) -> float:
        return EVENTS / self.seconds


@dataclass
class Measured:
    throughput: dict[int, Throughput]  # by worker processes
    wake: list[float]  # commit-to-receipt delays (ms) with the wake-up
    poll: list[float]  # ... with polling only


async def _delivery_log(db: Database, hooked: Hooked) -> tuple[int, list[int]]:
    """Deliveries recorded as succeeded, and attempts recorded per worker."""
    async with db.transaction() as session:
        succeeded = await session.scalar(
            select(func.count()).where(
                WebhookDelivery.tenant_id == hooked.tenant.id,
                WebhookDelivery.status == DeliveryStatus.SUCCEEDED,
            )
        )
        per_worker = (
            await session.execute(
                select(WebhookAttempt.worker, func.count())
                .where(WebhookAttempt.tenant_id == hooked.tenant.id)
                .group_by(WebhookAttempt.worker)
            )
        ).all()
    return int(succeeded or 0), sorted((int(n) for _, n in per_worker), reverse=True)


# ---- the measurements ------------------------------------------------------------------------


async def _throughput(
    db: Database,
    settings: Settings,
    receiver: Receiver,
    data_dir: Path,
    label: str,
    processes: int,
) -> Throughput:
    hooked = await _hooked(db, settings, receiver, label)
    for start in range(0, EVENTS, PRELOAD_BATCH):
        await _emit(db, hooked, min(PRELOAD_BATCH, EVENTS - start))
    # Held back until every worker is up, so process start-up is not timed.
    await _set_enabled(db, settings, hooked, False)
    with _workers(settings, data_dir, processes, THROUGHPUT_POLL_S) as running:
        cpu_before = [w.cpu_seconds() for w in running]
        await _set_enabled(db, settings, hooked, True)
        started, own_cpu = time.time(), time.process_time()
        seen = await asyncio.to_thread(receiver.wait_for, hooked.path, EVENTS, DEADLINE_S)
        cpu_after = [w.cpu_seconds() for w in running]
        own_cpu = time.process_time() - own_cpu
    cpu: float | None = 0.0
    for before, after in zip(cpu_before, cpu_after, strict=True):
        cpu = None if cpu is None or before is None or after is None else cpu + after - before
    # Stopped gracefully: everything sent is recorded, and anything sent twice has arrived.
    everything = receiver.seen(hooked.path)
    succeeded, attempts = await _delivery_log(db, hooked)
    return Throughput(
        seconds=seen.last - started,
        cpu=cpu,
        receiver_cpu=own_cpu,
        distinct=len(everything.first),
        received=everything.total,
        succeeded=succeeded,
        attempts=attempts,
    )


async def _paced(db: Database, hooked: Hooked, receiver: Receiver) -> list[float]:
    """Commit events one at a time at a steady pace; returns commit-to-receipt delays (ms)."""
    committed: dict[str, float] = {}
    start = time.monotonic()
    for number in range(PACED_EVENTS):
        await asyncio.sleep(max(0.0, start + number / PACE_PER_S - time.monotonic()))
        [msg_id] = await _emit(db, hooked, 1)
        committed[msg_id] = time.time()
    seen = await asyncio.to_thread(receiver.wait_for, hooked.path, PACED_EVENTS, DEADLINE_S)
    if set(seen.first) != set(committed):
        raise SystemExit(f"{hooked.path}: the receiver got other webhooks than were committed")
    return [(seen.first[msg_id] - at) * 1000 for msg_id, at in committed.items()]


async def _delay_in_process(
    db: Database, settings: Settings, receiver: Receiver, label: str
) -> list[float]:
    """Worker.run in this event loop: the commit hook wakes it."""
    hooked = await _hooked(db, settings, receiver, label)
    worker_settings = _settings(
        settings.database_url, settings.data_dir, webhook_poll_interval_s=WAKE_POLL_S
    )
    worker_db = Database.of(settings)
    worker = Worker(db=worker_db, settings=worker_settings, name="bench-in-process")
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(0.5)  # past its first look at the (empty) queue
        return await _paced(db, hooked, receiver)
    finally:
        stop.set()
        await task
        await worker_db.dispose()


async def _delay_process(
    db: Database,
    settings: Settings,
    receiver: Receiver,
    data_dir: Path,
    label: str,
    *,
    poll_s: float,
    notify: bool,
) -> list[float]:
    """One `bob worker` process, idle; `notify=False` sends the NOTIFY where nobody listens."""
    hooked = await _hooked(db, settings, receiver, label)
    with _workers(settings, data_dir, 1, poll_s):
        await asyncio.sleep(0.5)
        channel = wakeups.NOTIFY_CHANNEL
        if not notify:
            wakeups.NOTIFY_CHANNEL = _UNHEARD
        try:
            return await _paced(db, hooked, receiver)
        finally:
            wakeups.NOTIFY_CHANNEL = channel


async def _measure(url: str, data_dir: Path, receiver: Receiver) -> Measured:
    settings = _settings(url, data_dir)
    await asyncio.to_thread(migrate.upgrade, settings)
    db = Database.of(settings)
    kind = "sqlite" if db.is_sqlite else "pg"  # receiver paths stay apart between databases
    try:
        throughput = {1: await _throughput(db, settings, receiver, data_dir, f"{kind}-one", 1)}
        if db.is_sqlite:
            # No wake-up crosses processes on SQLite: the worker runs in this event loop.
            wake = await _delay_in_process(db, settings, receiver, f"{kind}-wake")
        else:
            throughput[2] = await _throughput(db, settings, receiver, data_dir, f"{kind}-two", 2)
            wake = await _delay_process(
                db, settings, receiver, data_dir, f"{kind}-wake", poll_s=WAKE_POLL_S, notify=True
            )
        poll = await _delay_process(
            db, settings, receiver, data_dir, f"{kind}-poll", poll_s=POLL_ONLY_S, notify=False
        )
    finally:
        await db.dispose()
    return Measured(throughput, wake, poll)


async def _pg_database(admin_url: str) -> str:
    name = f"bob_bench_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def _drop_pg(admin_url: str, url: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(
            text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        )
    await engine.dispose()


async def _all() -> dict[str, Measured]:
    out: dict[str, Measured] = {}
    receiver = Receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_dir = Path(tmp) / "sqlite"
            sqlite_dir.mkdir()
            out["SQLite"] = await _measure(
                f"sqlite+aiosqlite:///{sqlite_dir}/bench.db", sqlite_dir, receiver
            )
            admin = os.environ.get("BOB_BENCH_DATABASE_URL") or os.environ.get(
                "BOB_TEST_DATABASE_URL"
            )
            if admin:
                pg_dir = Path(tmp) / "pg"
                pg_dir.mkdir()
                url = await _pg_database(admin)
                try:
                    out["PostgreSQL"] = await _measure(url, pg_dir, receiver)
                finally:
                    await _drop_pg(admin, url)
    finally:
        receiver.close()
    return out


# ---- the section -----------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run() -> str:
    results = asyncio.run(_all())
    cores = os.cpu_count()
    lines = [
        "## Webhook delivery",
        "",
        f"**Throughput.** {EVENTS:,} events for one endpoint are committed before the workers "
        "start; the endpoint is held disabled until every `bob worker` process has logged that "
        "it started, then enabled (which announces the waiting deliveries), and the clock runs "
        "from that commit until the receiver has all of them. Baseline: one worker process; on "
        f"PostgreSQL also two. Each worker has {CONCURRENCY} deliveries in flight "
        f"(poll interval {THROUGHPUT_POLL_S:g} s). The receiver is a `ThreadingHTTPServer` "
        "(HTTP/1.1 keep-alive) on 127.0.0.1 in the benchmark process, answering 200 at once; "
        f"workers, receiver and database share {cores} cores. Duplicates are requests beyond the "
        "first per `webhook-id`. Worker CPU is what the worker processes used while the clock "
        "ran (from /proc), per delivery and as a share of one core per process; the receiver's "
        "is this process's CPU over the same time, as a share of one core.",
        "",
        "| database | worker processes | deliveries/s | ratio vs one | seconds | worker CPU "
        "per delivery | worker CPU busy | receiver CPU busy | distinct webhook-ids | "
        "duplicates | attempts recorded (per worker) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        base = r.throughput[1].rate
        for processes, t in r.throughput.items():
            duplicates = t.received - t.distinct
            cpu = (
                "n/a | n/a"
                if t.cpu is None
                else f"{t.cpu * 1000 / EVENTS:.1f} ms | {t.cpu / (t.seconds * processes):.0%}"
            )
            lines.append(
                f"| {name} | {processes} | {t.rate:,.0f} | {t.rate / base:.2f}x | "
                f"{t.seconds:.2f} | {cpu} | {t.receiver_cpu / t.seconds:.0%} | "
                f"{t.distinct} of {EVENTS} | {duplicates} | "
                f"{sum(t.attempts)} ({' + '.join(str(n) for n in t.attempts)}) |"
            )
            if (
                t.distinct != EVENTS
                or duplicates
                or sum(t.attempts) != EVENTS
                or t.succeeded != EVENTS
            ):
                raise SystemExit(f"{name}, {processes} workers: delivery was not exact: {t}")
    lines += [
        "",
        f"**Commit-to-receipt delay.** One idle worker; {PACED_EVENTS} events are committed one "
        f"per transaction at {PACE_PER_S:g}/s; the delay runs from `time.time()` right after "
        "each commit to the receiver's `time.time()` when that `webhook-id` arrives. Wake-up on "
        f"PostgreSQL: a `bob worker` process woken by NOTIFY (poll interval {WAKE_POLL_S:g} s, "
        "so polling cannot be what delivers). SQLite has no wake-up across processes, so its "
        "wake-up row runs `Worker.run` in the benchmark's own event loop, woken by the commit "
        f"hook (poll interval {WAKE_POLL_S:g} s). Baseline, poll only: a `bob worker` process "
        f"with the default {POLL_ONLY_S:g} s poll interval and no wake-up (on PostgreSQL the "
        "benchmark sends its NOTIFY to a channel no worker listens on).",
        "",
        "| database | wake-up | p50 ms | p99 ms | max ms |",
        "|---|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        woken_by = (
            "commit hook, `Worker.run` in-process"
            if name == "SQLite"
            else "NOTIFY, `bob worker` process"
        )
        for label, values in (
            (f"none: poll every {POLL_ONLY_S:g} s (baseline), `bob worker` process", r.poll),
            (woken_by, r.wake),
        ):
            lines.append(
                f"| {name} | {label} | {statistics.median(values):.1f} | "
                f"{_percentile(values, 0.99):.1f} | {max(values):.1f} |"
            )
    if "PostgreSQL" not in results:
        lines.append("")
        lines.append("PostgreSQL not measured: set BOB_TEST_DATABASE_URL to include it.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
