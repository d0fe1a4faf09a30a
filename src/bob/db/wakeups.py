"""Waking the workers when a transaction that gave them work commits: webhook deliveries (the
outbox) and background jobs alike. In this process through the session's commit hook, in others
through PostgreSQL NOTIFY, which is itself only sent on commit; a worker that hears neither still
looks at its queues every poll interval."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event as orm_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

# The name is older than the jobs that share it; workers of every version listen on it.
NOTIFY_CHANNEL = "bob_webhooks"
_PENDING = "bob.webhooks.pending"
_wake_callbacks: list[Callable[[], None]] = []


async def announce(session: AsyncSession) -> None:
    """Wake workers when this transaction commits: in this process through the session's
    commit hook, in others through PostgreSQL NOTIFY (which is itself only sent on commit)."""
    session.info[_PENDING] = True
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


def on_commit_with_work(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after every commit in this process that queued work; returns a
    function that stops the calls."""
    _wake_callbacks.append(callback)
    return lambda: _wake_callbacks.remove(callback)


@orm_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # A flag left behind by a rollback only causes a harmless extra look at the queue.
    if session.info.pop(_PENDING, False):
        for callback in list(_wake_callbacks):
            callback()
