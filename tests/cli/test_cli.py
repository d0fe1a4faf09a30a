"""The real `bob` command, run as a subprocess against a database of the test's own.

Every subprocess start costs about a second, so tests that only need a migrated database to work
on migrate it in-process; `bob migrate` itself is exercised where it is the subject.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from bob.db import migrate
from bob.demo import ADMIN as DEMO_ADMIN
from bob.demo import OWNER as DEMO_OWNER
from bob.main import create_app
from tests.conftest import PUBLIC_URL, FreshDatabase
from tests.factories import PASSWORD

BOB = [sys.executable, "-m", "bob.cli"]
OWNER_EMAIL = "owner@acme.example.com"
ADMIN_EMAIL = "ops@example.com"
TENANT_LOGIN_PATHS = ["/api/customers/auth/login", "/api/customer/auth/login"]

# ---- running bob ---------------------------------------------------------------------------


def _env(database: FreshDatabase, overrides: dict[str, str | None] | None) -> dict[str, str]:
    """The fixture's environment; an override of None removes the variable."""
    env = database.env()
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_bob(
    database: FreshDatabase,
    *args: str,
    env: dict[str, str | None] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BOB, *args],
        env=_env(database, env),
        cwd=database.data_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def bob(
    database: FreshDatabase, *args: str, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_bob, database, *args, env=env)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """A refused command: exit code 2, nothing on stdout, exactly one line on stderr."""
    report = f"exit {result.returncode}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.returncode == 2, report
    assert result.stdout == "", report
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, report
    assert "Traceback" not in lines[0], report
    return lines[0]


def tenant_args(**options: str | None) -> list[str]:
    """`bob tenant create` with valid options; pass name=value to change one, None to drop it."""
    values: dict[str, str | None] = {
        "name": "Acme Outdoor",
        "business_id": "acme",
        "owner_email": OWNER_EMAIL,
        "owner_password": PASSWORD,
        "plan": "pro",
    }
    values.update(options)
    args = ["tenant", "create"]
    for name, value in values.items():
        if value is not None:
            args += [f"--{name.replace('_', '-')}", value]
    return args


class RunningBob:
    """A long-running `bob` subprocess whose stderr is collected by a thread as it arrives."""

    def __init__(
        self, database: FreshDatabase, *args: str, env: dict[str, str | None] | None = None
    ) -> None:
        self.process = subprocess.Popen(
            [*BOB, *args],
            env=_env(database, env),
            cwd=database.data_dir,
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

    def wait_for_output(self, needle: str, timeout: float) -> bool:
        """True once `needle` is on stderr; False on timeout or when the process ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.stderr:
                return True
            if self.process.poll() is not None:
                self._reader.join(timeout=5)
                return needle in self.stderr
            time.sleep(0.05)
        return False

    def terminate(self, timeout: float) -> int | None:
        """SIGTERM, then the exit code, or None when it is still running after `timeout`."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(timeout=5)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


@contextmanager
def running_bob(
    database: FreshDatabase, *args: str, env: dict[str, str | None] | None = None
) -> Iterator[RunningBob]:
    running = RunningBob(database, *args, env=env)
    try:
        yield running
    finally:
        running.close()


async def health_when_up(
    server: RunningBob, port: int, within_s: float = 20
) -> httpx.Response | None:
    """`GET /api/health` until it answers 200 (or the time is up, or the server died); the last
    answer, None when there was none."""
    response = None
    async with httpx.AsyncClient(timeout=2) as client:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline and server.process.poll() is None:
            try:
                response = await client.get(f"http://127.0.0.1:{port}/api/health")
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            if response.status_code == 200:
                break
            await asyncio.sleep(0.1)
    return response


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- looking at the database from outside ---------------------------------------------------


async def migrate_in_process(database: FreshDatabase) -> None:
    await asyncio.to_thread(migrate.upgrade, database.settings)


async def query(database: FreshDatabase, statement: str, **params: Any) -> list[Any]:
    """Run one statement in its own committed transaction; returns the first column of rows."""
    engine = create_async_engine(database.url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result.scalars()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def table_names(database: FreshDatabase) -> set[str]:
    engine = create_async_engine(database.url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def counts(database: FreshDatabase) -> dict[str, int]:
    return {
        table: (await query(database, f"SELECT count(*) FROM {table}"))[0]
        for table in ("tenants", "users", "audit_log", "knowledge_items")
    }


async def tenant_uuid(database: FreshDatabase, business_id: str) -> uuid.UUID:
    (value,) = await query(database, "SELECT id FROM tenants WHERE business_id = :b", b=business_id)
    return uuid.UUID(str(value))  # a uuid.UUID on PostgreSQL, its hex on SQLite


@asynccontextmanager
async def in_process_client(database: FreshDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the same database the CLI wrote to, called without a server."""
    app = create_app(database.settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield client
    finally:
        await app.state.db.dispose()


async def login(client: httpx.AsyncClient, path: str, email: str, password: str) -> httpx.Response:
    return await client.post(path, json={"email": email, "password": password})


# ---- tenant and admin creation ---------------------------------------------------------------


async def test_migrate_then_create_tenant_and_admin_who_can_log_in(
    fresh_database: FreshDatabase,
) -> None:
    migrated = await bob(fresh_database, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is up to date" in migrated.stdout

    created = await bob(fresh_database, *tenant_args(), "--json")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.strip().splitlines()
    assert len(lines) == 1, created.stdout
    payload = json.loads(lines[0])
    assert set(payload) == {"tenant_id", "business_id", "widget_key"}
    assert payload["business_id"] == "acme"
    assert re.fullmatch(r"pk_live_[A-Za-z0-9_-]{32}", payload["widget_key"])
    acme_keys = await query(
        fresh_database,
        "SELECT k.key FROM widget_keys k JOIN tenants t ON t.id = k.tenant_id "
        "WHERE t.business_id = 'acme'",
    )
    assert acme_keys == [payload["widget_key"]]
    tenant_id = uuid.UUID(payload["tenant_id"])
    assert await tenant_uuid(fresh_database, "acme") == tenant_id
    assert await query(fresh_database, "SELECT plan FROM tenants WHERE business_id = 'acme'") == [
        "pro"
    ]

    admin = await bob(
        fresh_database, "admin", "create", "--email", ADMIN_EMAIL, "--password", PASSWORD
    )
    assert admin.returncode == 0, admin.stderr
    assert ADMIN_EMAIL in admin.stdout

    async with in_process_client(fresh_database) as client:
        as_admin = await login(client, "/api/auth/login", ADMIN_EMAIL, PASSWORD)
        assert as_admin.status_code == 200, as_admin.text
        assert as_admin.json()["user"]["role"] == "platform_admin"
        assert as_admin.json()["tenant"] is None

        for path in TENANT_LOGIN_PATHS:
            as_owner = await login(client, path, OWNER_EMAIL, PASSWORD)
            assert as_owner.status_code == 200, (path, as_owner.text)
            assert as_owner.json()["user"]["role"] == "owner"
            assert as_owner.json()["tenant"]["id"] == str(tenant_id)
            assert as_owner.json()["access_token"]

        wrong_door = await login(client, "/api/auth/login", OWNER_EMAIL, PASSWORD)
        assert wrong_door.status_code == 401, wrong_door.text


# ---- refused arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(tenant_args(business_id=None), ["--business-id"], id="missing-option"),
        pytest.param(tenant_args(plan="gold"), ["--plan", "gold"], id="unknown-plan"),
        pytest.param(
            tenant_args(owner_password="too-short"),
            ["owner_password", "10 characters"],
            id="short-password",
        ),
        pytest.param(tenant_args(business_id="Not A Slug"), ["business_id"], id="bad-business-id"),
        pytest.param(
            tenant_args(owner_email="not-an-email"), ["--owner-email", "@"], id="bad-owner-email"
        ),
        pytest.param(
            ["admin", "create", "--email", "not-an-email", "--password", PASSWORD],
            ["--email", "@"],
            id="bad-admin-email",
        ),
        pytest.param(
            ["admin", "create", "--email", ADMIN_EMAIL, "--password", "too-short"],
            ["password", "10 characters"],
            id="short-admin-password",
        ),
        pytest.param(["frobnicate"], ["frobnicate"], id="unknown-command"),
    ],
)
async def test_bad_arguments_are_one_line_and_exit_2(
    fresh_database: FreshDatabase, args: list[str], named: list[str]
) -> None:
    await migrate_in_process(fresh_database)
    line = one_error_line(await bob(fresh_database, *args))
    assert "error" in line
    for word in named:
        assert word in line
    # Nothing was written: only the platform tenant from the migration is there.
    assert await counts(fresh_database) == {
        "tenants": 1,
        "users": 0,
        "audit_log": 0,
        "knowledge_items": 0,
    }


async def test_duplicates_are_refused_in_one_line(fresh_database: FreshDatabase) -> None:
    await migrate_in_process(fresh_database)
    first = await bob(fresh_database, *tenant_args())
    assert first.returncode == 0, first.stderr
    again = await bob(fresh_database, *tenant_args(owner_email="second@acme.example.com"))
    line = one_error_line(again)
    assert "acme" in line
    assert "taken" in line

    admin = ["admin", "create", "--email", ADMIN_EMAIL, "--password", PASSWORD]
    assert (await bob(fresh_database, *admin)).returncode == 0
    line = one_error_line(await bob(fresh_database, *admin))
    assert ADMIN_EMAIL in line
    assert "already exists" in line
    assert await counts(fresh_database) == {
        "tenants": 2,
        "users": 2,
        "audit_log": 2,
        "knowledge_items": 0,
    }


async def test_bare_command_group_prints_help_and_exits_2(fresh_database: FreshDatabase) -> None:
    result = await bob(fresh_database, "tenant")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Usage: bob tenant" in result.stderr
    assert "create" in result.stderr


# ---- the audit log ---------------------------------------------------------------------------


async def test_audit_verify_detects_edited_and_deleted_entries(
    fresh_database: FreshDatabase,
) -> None:
    await migrate_in_process(fresh_database)
    assert (await bob(fresh_database, *tenant_args())).returncode == 0
    admin = await bob(
        fresh_database, "admin", "create", "--email", ADMIN_EMAIL, "--password", PASSWORD
    )
    assert admin.returncode == 0, admin.stderr
    acme = await tenant_uuid(fresh_database, "acme")
    platform = await tenant_uuid(fresh_database, fresh_database.settings.platform_business_id)

    intact = await bob(fresh_database, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "intact: 2 entries verified" in intact.stdout

    of_tenant = "tenant_id = (SELECT id FROM tenants WHERE business_id = :b)"
    edit = f"UPDATE audit_log SET action = :action WHERE seq = 1 AND {of_tenant}"
    await query(fresh_database, edit, action="tampered", b="acme")
    edited = await bob(fresh_database, "audit", "verify")
    assert edited.returncode == 1, edited.stderr
    assert f"TAMPERED tenant {acme} entry 1: content does not match its hash" in edited.stderr
    assert str(platform) not in edited.stderr

    # Put it back, then remove the platform tenant's only entry (the admin's creation).
    await query(fresh_database, edit, action="tenant.created", b="acme")
    platform_id = fresh_database.settings.platform_business_id
    await query(
        fresh_database, f"DELETE FROM audit_log WHERE seq = 1 AND {of_tenant}", b=platform_id
    )
    deleted = await bob(fresh_database, "audit", "verify")
    assert deleted.returncode == 1, deleted.stderr
    assert f"TAMPERED tenant {platform} chain head" in deleted.stderr
    assert str(acme) not in deleted.stderr


# ---- long-running commands -------------------------------------------------------------------


async def test_worker_exits_0_on_sigterm(fresh_database: FreshDatabase) -> None:
    await migrate_in_process(fresh_database)
    with running_bob(fresh_database, "worker") as worker:
        started = await asyncio.to_thread(worker.wait_for_output, "worker started", 20)
        assert started, worker.stderr
        code = await asyncio.to_thread(worker.terminate, 5)
        assert code == 0, worker.stderr
        assert "worker stopped" in worker.stderr


async def test_serve_migrates_sqlite_and_answers_health(
    fresh_database: FreshDatabase, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("`bob serve` migrates SQLite only; PostgreSQL is refused unmigrated")
    port = free_port()
    with running_bob(fresh_database, "serve", "--host", "127.0.0.1", "--port", str(port)) as server:
        response = await health_when_up(server, port)
        assert response is not None, server.stderr
        assert response.status_code == 200, (response.text, server.stderr)
        assert response.json()["status"] == "ok"
        assert response.json()["database"] == "ok"
        assert response.headers.get("x-request-id")

        code = await asyncio.to_thread(server.terminate, 10)
        # Uvicorn shuts down gracefully, then may re-raise the signal it caught.
        assert code in (0, -signal.SIGTERM), server.stderr
        assert "Application shutdown complete" in server.stderr
    assert {"tenants", "users", "audit_log"} <= await table_names(fresh_database)


async def test_serve_refuses_unmigrated_postgresql(
    fresh_database: FreshDatabase, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("`bob serve` migrates SQLite itself")
    result = await asyncio.to_thread(
        run_bob, fresh_database, "serve", "--port", str(free_port()), timeout=30
    )
    assert "bob migrate" in one_error_line(result)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["worker"], id="worker"),
        pytest.param(tenant_args(), id="tenant-create"),
        pytest.param(["audit", "verify"], id="audit-verify"),
    ],
)
async def test_commands_refuse_an_unmigrated_database(
    fresh_database: FreshDatabase, args: list[str]
) -> None:
    line = one_error_line(await bob(fresh_database, *args))
    assert "bob migrate" in line


# ---- the demo ------------------------------------------------------------------------------


async def test_demo_twice_is_idempotent_and_its_logins_work(
    fresh_database: FreshDatabase, backend: str
) -> None:
    if backend == "postgresql":
        await migrate_in_process(fresh_database)  # the demo migrates SQLite only
    first = await bob(fresh_database, "demo")
    assert first.returncode == 0, first.stderr
    after_first = await counts(fresh_database)
    second = await bob(fresh_database, "demo")
    assert second.returncode == 0, second.stderr
    assert await counts(fresh_database) == after_first
    assert after_first["tenants"] == 2  # the platform and the demo shop
    assert after_first["users"] == 3  # admin, owner, agent
    assert after_first["knowledge_items"] >= 8  # sample knowledge that answers real questions

    for result in (first, second):
        for email, password in (DEMO_ADMIN, DEMO_OWNER):
            assert f"{email} / {password}" in result.stdout

    async with in_process_client(fresh_database) as client:
        as_admin = await login(client, "/api/auth/login", *DEMO_ADMIN)
        assert as_admin.status_code == 200, as_admin.text
        as_owner = await login(client, "/api/customers/auth/login", *DEMO_OWNER)
        assert as_owner.status_code == 200, as_owner.text
        # The page at / is the platform's own site: door 1 for the platform tenant, which
        # knows about Bob, with the plans as the published pricebook has them.
        page = await client.get("/")
        platform = re.search(r'data-business-id="([a-z0-9-]+)"', page.text)
        assert platform is not None
        pricebook = (await client.get("/api/pricebook")).json()
        pro = next(p for p in pricebook["plans"] if p["code"] == "pro")
        price = f"{pro['monthly_price_cents'] / 100:,.2f} {pricebook['currency']}"
        for question, expected in [
            ("How much is the Pro plan?", price),
            ("How do I add Bob to my site?", "embed code"),
        ]:
            about_bob = await client.post(
                "/api/chat", json={"message": question, "business_id": platform.group(1)}
            )
            assert about_bob.status_code == 200, about_bob.text
            assert expected in about_bob.json()["reply"], (question, about_bob.json())
        # The demo shop's knowledge answers through door 1 with its business id.
        answer = await client.post(
            "/api/chat",
            json={"message": "How long does standard delivery take?", "business_id": "demo-shop"},
        )
        assert answer.status_code == 200, answer.text
        assert "2 to 4 business days" in answer.json()["reply"]
        assert (
            answer.json()["sources"][0]["title"]
            == "How long does delivery take, and what does it cost?"
        )


async def test_demo_is_refused_in_production(fresh_database: FreshDatabase) -> None:
    strong = secrets.token_urlsafe(48)
    result = await bob(
        fresh_database, "demo", env={"BOB_ENV": "production", "BOB_SECRET_KEY": strong}
    )
    line = one_error_line(result)
    assert "demo" in line
    assert "production" in line
    assert "BOB_SECRET_KEY" not in line  # refused for being the demo, not for the key
    assert await table_names(fresh_database) == set()


# ---- production settings --------------------------------------------------------------------


@pytest.mark.parametrize("secret_key", [None, "short"], ids=["missing", "weak"])
async def test_production_refuses_a_missing_or_weak_secret_key(
    fresh_database: FreshDatabase, secret_key: str | None
) -> None:
    result = await bob(
        fresh_database, "migrate", env={"BOB_ENV": "production", "BOB_SECRET_KEY": secret_key}
    )
    assert "BOB_SECRET_KEY" in one_error_line(result)
    assert await table_names(fresh_database) == set()
