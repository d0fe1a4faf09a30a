from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bob import __version__
from bob.db.session import Database

router = APIRouter(tags=["system"])
log = logging.getLogger("bob.health")


@router.get("/api/health", summary="Liveness and database reachability (no secrets)")
async def health(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    try:
        await db.ping()
        database = "ok"
    except Exception:  # any failure to reach the database is "unreachable" to a load balancer
        log.exception("database ping failed")
        database = "unreachable"
    healthy = database == "ok"
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "version": __version__, "database": database},
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
