"""The background work knowledge owns, as the app's worker runs it (jobs/runner.py): indexing
passages by meaning, and tokenising them again after the analyser changes."""

from __future__ import annotations

from bob.db.session import Database
from bob.jobs import service as jobs
from bob.jobs.runner import Work
from bob.knowledge import embeddings, lexical, vectors
from bob.settings import Settings


async def on_start(db: Database, settings: Settings) -> None:
    """Work a worker queues when it starts: knowledge from before search by meaning existed,
    or embedded with another model, gets indexed."""
    async with db.transaction() as session:
        await jobs.prune(session=session)
    # Passages tokenised by an older analyser are tokenised again.
    await lexical.enqueue_stale(db=db)
    await embeddings.preload(settings)  # in a thread: loading must not hold up deliveries
    await vectors.enqueue_missing(db=db, settings=settings)


WORK = Work(
    handlers={
        vectors.INDEX_JOB: vectors.run_index_job,
        lexical.RETOKENISE_JOB: lexical.run_retokenise_job,
    },
    on_start=on_start,
)
