"""Runs claimed jobs inside the worker process (`bob worker`, or the worker inside `bob serve`).

One job at a time per worker: jobs are long and CPU-bound (embedding), and the machine's other
cores belong to the chat. The webhook worker's loop calls `poll()` whenever it wakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bob.db.session import Database
from bob.jobs import service as jobs
from bob.settings import Settings

log = logging.getLogger("bob.jobs")

ProgressCallback = Callable[[int, int], None]


class Interrupted(Exception):
    """The worker is stopping; the job goes back to the queue where it left off."""


class JobFailed(Exception):
    """The job cannot succeed as things are; its message is shown to the tenant."""


@dataclass
class JobContext:
    db: Database
    settings: Settings
    claim: jobs.Claim
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    on_progress: ProgressCallback | None = None

    @property
    def tenant_id(self) -> Any:
        return self.claim.tenant_id

    def check_stop(self) -> None:
        if self.stopping.is_set():
            raise Interrupted

    async def progress(self, *, session: AsyncSession, done: int, total: int) -> None:
        """Record progress (and renew the lease) in `session`'s transaction."""
        await jobs.progress(session=session, claim=self.claim, done=done, total=total)
        if self.on_progress is not None:
            self.on_progress(done, max(total, done))


Handler = Callable[[JobContext], Awaitable[None]]


StartHook = Callable[[Database, Settings], Awaitable[None]]


@dataclass(frozen=True)
class Work:
    """What a worker can run: a handler per job kind, and what to queue when it starts. The
    domains that own the work say so (knowledge/jobs.py), and the app hands it to its worker:
    this package knows none of them."""

    handlers: Mapping[str, Handler] = field(default_factory=dict)
    on_start: StartHook | None = None


class JobRunner:
    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        name: str,
        work: Work,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.name = name
        self.work = work
        self._wake = wake
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[str] | None = None
        self._starting: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run `on_start` beside the worker's loop, so deliveries need not wait for it."""
        self._starting = asyncio.create_task(self._on_start())

    async def _on_start(self) -> None:
        if self.work.on_start is None:
            return
        try:
            await self.work.on_start(self.db, self.settings)
        except Exception:
            log.exception("could not queue the work due at start; it is queued at the next start")

    async def claim(self, job_id: Any = None) -> jobs.Claim | None:
        async with self.db.transaction() as session:
            return await jobs.claim(session=session, worker=self.name, job_id=job_id)

    async def run(self, claim: jobs.Claim, on_progress: ProgressCallback | None = None) -> str:
        """Run a claimed job to its end; returns the status it was left in."""
        handler = self.work.handlers.get(claim.kind)
        context = JobContext(self.db, self.settings, claim, self._stopping, on_progress)
        try:
            if handler is None:
                raise JobFailed(f"no worker knows how to run {claim.kind!r} jobs")
            await handler(context)
        except Interrupted:
            await self._record(jobs.release, claim)
            return "queued"
        except jobs.LeaseLost:
            log.warning("job %s: lease lost; another worker has it", claim.job_id)
            return "lost"
        except Exception as exc:
            if not isinstance(exc, JobFailed):
                log.exception("job %s (%s) failed", claim.job_id, claim.kind)
            reason = str(exc) or type(exc).__name__
            gave_up = await self._record(jobs.fail, claim, error=reason)
            return "failed" if gave_up else "queued"
        await self._record(jobs.finish, claim)
        return "done"

    async def _record(
        self, step: Callable[..., Awaitable[Any]], claim: jobs.Claim, **kw: Any
    ) -> Any:
        try:
            async with self.db.transaction() as session:
                return await step(session=session, claim=claim, **kw)
        except jobs.LeaseLost:
            return None
        except Exception:
            # The lease runs out and the job is claimed again; nothing is lost.
            log.exception("job %s: could not record its outcome", claim.job_id)
            return None

    async def poll(self) -> None:
        """Start the next due job unless one is running. A worker given no work claims none, so
        it cannot fail another worker's jobs for want of their handlers."""
        if not self.work.handlers:
            return
        if self._stopping.is_set() or (self._task is not None and not self._task.done()):
            return
        claim = await self.claim()
        if claim is None:
            return
        self._task = asyncio.create_task(self.run(claim))
        if self._wake is not None:
            wake = self._wake
            self._task.add_done_callback(lambda _: wake())

    async def run_once(self) -> bool:
        """Claim one due job and run it here; False when none is due."""
        claim = await self.claim()
        if claim is None:
            return False
        await self.run(claim)
        return True

    async def drain(self) -> int:
        """Run jobs until none is due; returns how many ran."""
        count = 0
        while await self.run_once():
            count += 1
        return count

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def request_stop(self) -> None:
        """Ask the running job to stop after its current step (safe from a signal handler)."""
        self._stopping.set()

    async def stop(self) -> None:
        """Stop between two steps of the running job; it goes back to the queue."""
        self._stopping.set()
        for task in (self._starting, self._task):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
