"""Background jobs: queue them in the caller's transaction, claim, report progress, finish.

Claiming works like webhook deliveries: a short transaction sets a claim token and a lease
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the transaction holds the single write lock).
Every progress report renews the lease and is accepted only while the token still matches, so a
worker that lost its lease (it stalled, another took over) stops instead of racing the other.
Queuing wakes the workers the way queued deliveries do: the commit hook in this process and
PostgreSQL NOTIFY in the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bob.db import wakeups
from bob.db.types import utcnow
from bob.jobs.models import Job, JobStatus

LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 5
# Seconds before trying a failed job again (the last one repeats until MAX_ATTEMPTS).
RETRY_DELAYS = (10.0, 60.0, 300.0, 1800.0)
KEEP_FINISHED = timedelta(days=30)
_ERROR_CHARS = 1000


class LeaseLost(Exception):
    """The job is no longer this worker's: its lease ran out and it was claimed again."""


@dataclass(frozen=True)
class Claim:
    job_id: uuid.UUID
    token: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    params: Mapping[str, Any]
    attempts: int


async def enqueue(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: str,
    params: Mapping[str, Any] | None = None,
) -> Job:
    """Queue `kind` for the tenant, after commit. While one such job is still waiting, asking
    again returns it: the work a job does is "bring this up to date", so one run covers both."""
    waiting = await session.scalar(
        select(Job)
        .where(Job.tenant_id == tenant_id, Job.kind == kind, Job.status == JobStatus.QUEUED)
        .order_by(Job.created_at)
        .limit(1)
    )
    if waiting is not None:
        return waiting
    now = utcnow()
    job = Job(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        kind=kind,
        params=dict(params or {}),
        status=JobStatus.QUEUED,
        progress_done=0,
        progress_total=0,
        attempts=0,
        run_after=now,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    await session.flush()
    await wakeups.announce(session)
    return job


async def claim(
    *, session: AsyncSession, worker: str, job_id: uuid.UUID | None = None
) -> Claim | None:
    """Take the next due job (or `job_id`, if it is due), unless another job of the same kind
    is running for its tenant: two workers indexing one tenant would only do the work twice."""
    now = utcnow()
    other = aliased(Job)
    busy = (
        select(other.id)
        .where(
            other.tenant_id == Job.tenant_id,
            other.kind == Job.kind,
            other.status == JobStatus.RUNNING,
            other.lease_until > now,
            other.id != Job.id,
        )
        .exists()
    )
    query = (
        select(Job)
        .where(
            or_(
                and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
                # A running job whose lease ran out lost its worker.
                and_(Job.status == JobStatus.RUNNING, Job.lease_until <= now),
            ),
            ~busy,
        )
        .order_by(Job.run_after, Job.created_at)
        .limit(1)
    )
    if job_id is not None:
        query = query.where(Job.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Job, skip_locked=True)
    job = await session.scalar(query)
    if job is None:
        return None
    job.status = JobStatus.RUNNING
    job.claim_token = uuid.uuid4()
    job.claimed_by = worker[:120]
    job.lease_until = now + LEASE
    job.started_at = job.started_at or now
    job.attempts += 1
    await session.flush()
    return Claim(job.id, job.claim_token, job.tenant_id, job.kind, dict(job.params), job.attempts)


async def _update_claimed(session: AsyncSession, claim: Claim, **values: Any) -> None:
    result = await session.execute(
        update(Job)
        .where(
            Job.id == claim.job_id,
            Job.claim_token == claim.token,
            Job.status == JobStatus.RUNNING,
        )
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise LeaseLost(f"job {claim.job_id} is no longer held by this worker")


async def progress(*, session: AsyncSession, claim: Claim, done: int, total: int) -> None:
    await _update_claimed(
        session,
        claim,
        progress_done=done,
        progress_total=max(total, done),
        lease_until=utcnow() + LEASE,
    )


async def finish(*, session: AsyncSession, claim: Claim) -> None:
    await _update_claimed(
        session,
        claim,
        status=JobStatus.DONE,
        error=None,
        finished_at=utcnow(),
        claim_token=None,
        lease_until=None,
    )


async def fail(*, session: AsyncSession, claim: Claim, error: str) -> bool:
    """Record a failed run: the job is tried again later, or, after MAX_ATTEMPTS, given up.
    Returns True when it was given up."""
    now = utcnow()
    error = error[:_ERROR_CHARS]
    if claim.attempts >= MAX_ATTEMPTS:
        await _update_claimed(
            session,
            claim,
            status=JobStatus.FAILED,
            error=error,
            finished_at=now,
            claim_token=None,
            lease_until=None,
        )
        return True
    delay = RETRY_DELAYS[min(claim.attempts, len(RETRY_DELAYS)) - 1]
    await _update_claimed(
        session,
        claim,
        status=JobStatus.QUEUED,
        error=error,
        run_after=now + timedelta(seconds=delay),
        claim_token=None,
        lease_until=None,
    )
    return False


async def release(*, session: AsyncSession, claim: Claim) -> None:
    """Give the job back untouched (the worker is stopping): it is claimed again at once, and
    the attempt does not count."""
    await _update_claimed(
        session,
        claim,
        status=JobStatus.QUEUED,
        run_after=utcnow(),
        attempts=max(claim.attempts - 1, 0),
        claim_token=None,
        lease_until=None,
    )


async def get(*, session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID) -> Job | None:
    return await session.scalar(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id))


async def current(*, session: AsyncSession, tenant_id: uuid.UUID, kind: str) -> Job | None:
    """The tenant's running job of this kind, else the waiting one, else the last finished."""
    order = {JobStatus.RUNNING: 0, JobStatus.QUEUED: 1}
    jobs = list(
        await session.scalars(
            select(Job)
            .where(Job.tenant_id == tenant_id, Job.kind == kind)
            .order_by(Job.created_at.desc())
            .limit(5)
        )
    )
    if not jobs:
        return None
    return min(jobs, key=lambda job: order.get(JobStatus(job.status), 2))


async def counts(*, session: AsyncSession) -> dict[str, int]:
    """Jobs by status, across tenants (Mission Control)."""
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    found = dict.fromkeys(JobStatus, 0)
    found.update({JobStatus(status): int(count) for status, count in rows})
    return {str(status): count for status, count in found.items()}


async def prune(*, session: AsyncSession, before: datetime | None = None) -> int:
    cutoff = before or utcnow() - KEEP_FINISHED
    result = await session.execute(
        delete(Job)
        .where(Job.status.in_((JobStatus.DONE, JobStatus.FAILED)), Job.finished_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
