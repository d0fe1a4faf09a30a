"""Credit metering under load: N concurrent chats against a small balance.

For each database it measures replies per second with one visitor at a time (the baseline)
and with N at once, and checks that exactly the balance was charged and nothing went below
zero. PostgreSQL runs when BOB_TEST_DATABASE_URL (or BOB_BENCH_DATABASE_URL) is set.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bob import audit
from bob.accounts import service as accounts
from bob.anonymous import service as anonymous
from bob.billing import subscriptions
from bob.billing.models import CreditEntry
from bob.db import migrate
from bob.db.session import Database
from bob.knowledge import service as knowledge
from bob.main import create_app
from bob.settings import Settings

CONCURRENT = 80
BALANCE = 50
SEQUENTIAL = 40


async def _tenant(db: Database, settings: Settings, business_id: str, balance: int) -> uuid.UUID:
    async with db.transaction() as session:
        created = await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name=business_id,
            business_id=business_id,
            plan="starter",
            owner_email=f"owner@{business_id}.example.com",
            owner_password="bench password 1",
        )
        await knowledge.create_item(
            session=session,
            settings=settings,
            tenant_id=created.tenant.id,
            actor=audit.CLI,
            title="Opening hours",
            content="We are open every day from 8:00 to 20:00.",
        )
        await subscriptions.adjust_credits(
            session=session,
            actor=audit.CLI,
            tenant_id=created.tenant.id,
            delta=balance - 15_000,
            reason="benchmark balance",
        )
        # The benchmark measures metering, not the anonymous doors' ceilings.
        await anonymous.update_limits(
            session=session,
            tenant=created.tenant,
            actor=audit.CLI,
            changes={"replies_per_minute": 10_000},
        )
    return created.tenant.id


async def _run(url: str, data_dir: Path) -> dict[str, object]:
    settings = Settings.model_validate(
        {
            "data_dir": data_dir,
            "database_url": url,
            "secret_key": "bench-" + "x1y2z3w4" * 6,
            "chat_limit_per_ip": "100000/minute",
        }
    )
    await asyncio.to_thread(migrate.upgrade, settings)
    db = Database.of(settings)
    app = create_app(settings, database=db)
    results: dict[str, object] = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url, timeout=300
    ) as client:

        async def chat(business_id: str, number: int) -> httpx.Response:
            return await client.post(
                "/api/chat",
                json={
                    "message": "When are you open?",
                    "business_id": business_id,
                    "session_id": f"v-{number}",
                },
            )

        await _tenant(db, settings, "baseline", 10_000)
        started = time.perf_counter()
        for number in range(SEQUENTIAL):
            await chat("baseline", number)
        results["sequential"] = SEQUENTIAL / (time.perf_counter() - started)

        tenant_id = await _tenant(db, settings, "contended", BALANCE)
        started = time.perf_counter()
        responses = await asyncio.gather(*(chat("contended", n) for n in range(CONCURRENT)))
        results["concurrent"] = CONCURRENT / (time.perf_counter() - started)
        results["charged_replies"] = sum(1 for r in responses if r.json()["credits_used"] == 1)
        results["statuses"] = sorted({r.status_code for r in responses})
    async with db.transaction() as session:
        subscription = await subscriptions.current_subscription(
            session=session, tenant_id=tenant_id
        )
        results["final_balance"] = await subscriptions.balance(
            session=session, tenant_id=tenant_id, period_start=subscription.period_start
        )
        # Every usage entry must be exactly one reply's cost: no merged or partial charges.
        lowest = await session.scalar(
            select(func.count()).where(
                CreditEntry.tenant_id == tenant_id,
                CreditEntry.kind == "usage",
                CreditEntry.delta != -1,
            )
        )
        results["oversized_charges"] = lowest
    await db.dispose()
    return results


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


async def _all() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["SQLite"] = await _run(f"sqlite+aiosqlite:///{tmp}/bench.db", Path(tmp))
        admin = os.environ.get("BOB_BENCH_DATABASE_URL") or os.environ.get("BOB_TEST_DATABASE_URL")
        if admin:
            url = await _pg_database(admin)
            try:
                out["PostgreSQL"] = await _run(url, Path(tmp))
            finally:
                await _drop_pg(admin, url)
    return out


def run() -> str:
    results = asyncio.run(_all())
    lines = [
        "## Credit metering under concurrency",
        "",
        f"{CONCURRENT} visitors write at once to a tenant with {BALANCE} credits left (extractive "
        "engine, 1 credit per reply). Baseline: one visitor at a time on a tenant with plenty "
        "of credits, in the same run.",
        "",
        "| database | baseline replies/s (sequential) | replies/s, "
        f"{CONCURRENT} concurrent | ratio | charged replies | final balance | statuses |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        sequential, concurrent = float(r["sequential"]), float(r["concurrent"])  # type: ignore[arg-type]
        lines.append(
            f"| {name} | {sequential:.1f} | {concurrent:.1f} | {concurrent / sequential:.2f}x | "
            f"{r['charged_replies']} of {CONCURRENT} (expected {BALANCE}) | "
            f"{r['final_balance']} (expected 0) | {r['statuses']} |"
        )
        if r["charged_replies"] != BALANCE or r["final_balance"] != 0 or r["oversized_charges"]:
            raise SystemExit(f"{name}: metering was not exact: {r}")
    if "PostgreSQL" not in results:
        lines.append("")
        lines.append("PostgreSQL not measured: set BOB_TEST_DATABASE_URL to include it.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
