from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bob import __version__
from bob.db.session import Database
from bob.deps import get_database
from bob.events import outbox
from bob.knowledge import embeddings

router = APIRouter(tags=["system"])
log = logging.getLogger("bob.health")


@dataclass(frozen=True)
class Probe:
    database: str  # "ok" or "unreachable"
    backlog: int | None  # webhook deliveries due now
    lag_seconds: float | None  # how long the oldest of them has waited


async def probe(db: Database) -> Probe:
    """Reach the database and read the webhook queue; also behind Mission Control's status."""
    try:
        async with db.sessionmaker() as session:
            backlog, lag = await outbox.queue_lag(session)
    except Exception:  # any failure to reach the database is "unreachable" to a load balancer
        log.exception("database check failed")
        return Probe("unreachable", None, None)
    return Probe("ok", backlog, round(lag, 1))


@router.get(
    "/api/health",
    summary="Liveness, database reachability, webhook worker lag and the embedder (no secrets)",
    responses={
        503: {
            "description": "The database is unreachable: the same body, with status `degraded`.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def health(request: Request) -> JSONResponse:
    result = await probe(get_database(request))
    healthy = result.database == "ok"
    worker = {"backlog": result.backlog, "lag_seconds": result.lag_seconds} if healthy else None
    return JSONResponse(
        {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "database": result.database,
            # Webhook deliveries due now and how long the oldest has waited.
            "worker": worker,
            # Search by meaning: "unavailable" (with the reason) means words only. Not a reason
            # for a load balancer to take this process out, so the status code ignores it.
            "embeddings": embeddings.status(request.app.state.settings).as_dict(),
        },
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
