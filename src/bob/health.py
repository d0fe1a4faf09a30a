from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bob import __version__
from bob.db.session import Database
from bob.webhooks import service as events

router = APIRouter(tags=["system"])
log = logging.getLogger("bob.health")


@router.get(
    "/api/health", summary="Liveness, database reachability and webhook worker lag (no secrets)"
)
async def health(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    worker: dict[str, float | int] | None = None
    try:
        async with db.sessionmaker() as session:
            backlog, lag = await events.queue_lag(session)
        database = "ok"
        worker = {"backlog": backlog, "lag_seconds": round(lag, 1)}
    except Exception:  # any failure to reach the database is "unreachable" to a load balancer
        log.exception("database check failed")
        database = "unreachable"
    healthy = database == "ok"
    return JSONResponse(
        {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "database": database,
            # Webhook deliveries due now and how long the oldest has waited.
            "worker": worker,
        },
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
