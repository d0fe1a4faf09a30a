"""Widget size: the tenant bundle as served, against the bare loader measured the same way.

The loader is the baseline: it is the same widget code without a tenant's configuration, so
the difference is what baking the configuration in costs.
"""

from __future__ import annotations

import asyncio
import gzip
import tempfile
from pathlib import Path

import httpx

from bob import audit
from bob.accounts import service as accounts
from bob.db import migrate
from bob.db.session import Database
from bob.main import create_app
from bob.settings import Settings

BUDGET = 15 * 1024


async def _measure(data_dir: Path) -> dict[str, tuple[int, int]]:
    settings = Settings.model_validate(
        {"data_dir": data_dir, "secret_key": "bench-" + "x1y2z3w4" * 6, "env": "development"}
    )
    await asyncio.to_thread(migrate.upgrade, settings)
    db = Database.of(settings)
    async with db.transaction() as session:
        created = await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name="Bench Shop",
            business_id="bench-shop",
            plan="pro",
            owner_email="owner@bench.example.com",
            owner_password="bench password 1",
        )
    app = create_app(settings, database=db)
    sizes = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.public_url
    ) as client:
        for name, path in [
            ("loader (baseline)", "/widget/loader.js"),
            ("tenant bundle", f"/widget/{created.tenant.id}/widget.js"),
        ]:
            body = (await client.get(path)).content
            sizes[name] = (len(body), len(gzip.compress(body, 9)))
    await db.dispose()
    return sizes


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        sizes = asyncio.run(_measure(Path(tmp)))
    base_gzip = sizes["loader (baseline)"][1]
    lines = [
        "## Widget size",
        "",
        f"Budget: {BUDGET:,} bytes gzipped (checked by tests/integration/widget/test_bundle.py).",
        "",
        "| script | raw bytes | gzip -9 bytes | vs baseline | under budget by |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (raw, packed) in sizes.items():
        lines.append(
            f"| {name} | {raw:,} | {packed:,} | {packed - base_gzip:+,} | {BUDGET - packed:,} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
