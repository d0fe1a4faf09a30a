"""The `bob` command: serve, worker, migrate, and admin/tenant/demo/audit commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from bob import audit
from bob import demo as demo_data
from bob.accounts import service as accounts
from bob.auth import service as auth
from bob.billing import pricebook
from bob.db import migrate as migrations
from bob.db.session import Database
from bob.demo_shop import create_shop_app
from bob.errors import BobError, ConfigurationError, NotFound
from bob.knowledge import jobs as knowledge_jobs
from bob.logging import configure_logging
from bob.main import check_migrated, create_app
from bob.settings import Settings
from bob.tenants import service as tenants
from bob.tenants.models import Plan
from bob.webhooks.worker import Worker

T = TypeVar("T")
log = logging.getLogger("bob.cli")

cli = typer.Typer(
    name="bob",
    help="Bob, the governed AI front office.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
admin_cli = typer.Typer(help="Platform admins.", no_args_is_help=True)
tenant_cli = typer.Typer(help="Tenants (businesses).", no_args_is_help=True)
audit_cli = typer.Typer(help="The audit log.", no_args_is_help=True)
pricebook_cli = typer.Typer(help="The versioned pricebook.", no_args_is_help=True)
knowledge_cli = typer.Typer(help="Tenants' knowledge.", no_args_is_help=True)
cli.add_typer(admin_cli, name="admin")
cli.add_typer(tenant_cli, name="tenant")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(pricebook_cli, name="pricebook")
cli.add_typer(knowledge_cli, name="knowledge")


class UserError(Exception):
    """A problem with what the user asked for: one line on stderr, exit code 2."""


def _settings(**overrides: Any) -> Settings:
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(json_lines=settings.is_production, level=settings.log_level)
    settings.check()
    return settings


def _run(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` on the database, refusing (one line, exit 2) one that is not migrated."""

    async def main() -> T:
        db = Database.of(settings)
        try:
            await check_migrated(db, settings)
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _prepare_database(settings: Settings, *, apply: bool) -> None:
    """Migrate (or check) the database and make sure the platform tenant exists."""
    if apply:
        migrations.upgrade(settings)

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            await accounts.ensure_platform_tenant(session=session, settings=settings)

    _run(settings, work)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface [BOB_HOST].")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port [BOB_PORT].")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes.")] = 1,
    demo_shop: Annotated[
        bool,
        typer.Option("--demo-shop", help="Also serve the demo shop page on BOB_DEMO_SHOP_PORT."),
    ] = False,
) -> None:
    """Serve Bob over HTTP (SQLite databases are migrated first)."""
    settings = _settings(host=host, port=port)
    if settings.is_sqlite and workers > 1:
        raise UserError("SQLite is served by one process; use PostgreSQL for --workers > 1")
    if demo_shop and workers > 1:
        raise UserError("--demo-shop runs inside a single server process; drop --workers")
    _prepare_database(settings, apply=settings.is_sqlite)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "log_config": None,
        "server_header": False,
    }
    log.info("Bob is serving on %s", settings.public_url)
    if demo_shop:
        asyncio.run(_serve_with_demo_shop(settings, common))
    elif workers == 1:
        uvicorn.run(create_app(settings), **common)
    else:
        # Worker processes build their own app from the environment.
        import os

        os.environ["BOB_HOST"], os.environ["BOB_PORT"] = settings.host, str(settings.port)
        uvicorn.run("bob.main:app_from_env", factory=True, workers=workers, **common)


class _Companion(uvicorn.Server):
    """A second server in the same process; the main server owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_with_demo_shop(settings: Settings, common: dict[str, Any]) -> None:
    async def bundle_url() -> str:
        db = Database.of(settings)
        try:
            async with db.transaction() as session:
                tenant = await tenants.get_tenant_by_business_id(
                    session=session, business_id=demo_data.BUSINESS_ID
                )
        except NotFound:
            raise UserError("--demo-shop needs the demo business; run `bob demo` first") from None
        finally:
            await db.dispose()
        return f"{settings.public_url}/widget/{tenant.id}/widget.js"

    shop = create_shop_app(
        bundle_url=await bundle_url(),
        shop_name=demo_data.BUSINESS_NAME,
        port=settings.demo_shop_port,
    )
    main = uvicorn.Server(uvicorn.Config(create_app(settings), **common))
    companion = _Companion(
        uvicorn.Config(
            shop,
            host=settings.host,
            port=settings.demo_shop_port,
            log_config=None,
            server_header=False,
        )
    )
    shop_task = asyncio.create_task(companion.serve())
    log.info(
        "demo shop (a second origin embedding the widget) on http://%s:%s",
        settings.host,
        settings.demo_shop_port,
    )
    try:
        await main.serve()
    finally:
        companion.should_exit = True
        await shop_task


@cli.command()
def worker() -> None:
    """Deliver webhooks and run background jobs until SIGTERM or Ctrl-C (any number may run
    against PostgreSQL)."""
    settings = _settings()
    _prepare_database(settings, apply=False)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        db = Database.of(settings)
        try:
            await Worker(db=db, settings=settings, work=knowledge_jobs.WORK).run(stop)
        finally:
            await db.dispose()

    asyncio.run(main())


@cli.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = _settings()
    _prepare_database(settings, apply=True)
    revision = ", ".join(sorted(migrations.head_revisions(settings)))
    typer.echo(f"database is up to date (revision {revision})")


@admin_cli.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[str, typer.Option(help="At least 10 characters.")],
) -> None:
    """Create a platform admin."""
    settings = _settings()
    _check_email(email, "--email")

    async def work(db: Database) -> bool:
        async with db.transaction() as session:
            _, created = await auth.ensure_platform_admin(
                session=session,
                settings=settings,
                email=email,
                password=password,
                actor=audit.CLI,
            )
            return created

    if not _run(settings, work):
        raise UserError(f"a user with email {email.strip().lower()} already exists")
    typer.echo(f"platform admin {email.strip().lower()} created")


@tenant_cli.command("create")
def tenant_create(
    name: Annotated[str, typer.Option(help="Business name.")],
    business_id: Annotated[str, typer.Option(help="Lowercase slug, unique.")],
    owner_email: Annotated[str, typer.Option(help="The owner's login email.")],
    owner_password: Annotated[str, typer.Option(help="At least 10 characters.")],
    plan: Annotated[Plan, typer.Option(case_sensitive=False)] = Plan.STARTER,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a tenant and its owner."""
    settings = _settings()
    _check_email(owner_email, "--owner-email")

    async def work(db: Database) -> accounts.NewTenant:
        async with db.transaction() as session:
            return await accounts.create_tenant(
                session=session,
                actor=audit.CLI,
                name=name,
                business_id=business_id,
                plan=plan.value,
                owner_email=owner_email,
                owner_password=owner_password,
            )

    created = _run(settings, work)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "tenant_id": str(created.tenant.id),
                    "business_id": created.tenant.business_id,
                    "widget_key": created.widget_key,
                }
            )
        )
    else:
        typer.echo(f"tenant {created.tenant.business_id} created (id {created.tenant.id})")


def _check_email(value: str, option: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise UserError(f"{option}: {exc}") from None


@cli.command()
def demo() -> None:
    """Create (or keep) a platform admin and a demo business, then print how to log in."""
    settings = _settings()
    if settings.is_production:
        raise UserError("the demo uses well-known passwords and is refused in production")
    _prepare_database(settings, apply=settings.is_sqlite)

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            await demo_data.ensure_demo(session=session, settings=settings)

    _run(settings, work)
    base = settings.public_url
    typer.echo(
        "\n".join(
            [
                "Bob demo is ready.",
                f"  Site:              {base}/",
                f"  Demo shop:         http://{settings.host}:{settings.demo_shop_port}/"
                "  (the widget on a second origin, with `bob serve --demo-shop`)",
                f"  Health:            {base}/api/health",
                f"  Developer docs:    {base}/docs  (OpenAPI: {base}/api/openapi.json)",
                f"  Customer Portal:   {base}/portal",
                f"  Mission Control:   {base}/mission-control",
                f"  Platform admin:    {demo_data.ADMIN[0]} / {demo_data.ADMIN[1]}"
                "  (Mission Control, or POST /api/auth/login)",
                f"  Demo shop owner:   {demo_data.OWNER[0]} / {demo_data.OWNER[1]}"
                "  (Customer Portal, or POST /api/customers/auth/login)",
                f"  Demo shop agent:   {demo_data.AGENT[0]} / {demo_data.AGENT[1]}",
            ]
        )
    )


@audit_cli.command("verify")
def audit_verify(
    business_id: Annotated[
        str | None, typer.Option("--business-id", help="Check one tenant only.")
    ] = None,
) -> None:
    """Recompute the audit hash chains; exit 1 if any entry was changed or removed."""
    settings = _settings()

    async def work(db: Database) -> tuple[int, list[audit.ChainProblem]]:
        async with db.transaction() as session:
            tenant_id = None
            if business_id is not None:
                tenant = await tenants.get_tenant_by_business_id(
                    session=session, business_id=business_id
                )
                tenant_id = tenant.id
            return await audit.verify_chain(
                session=session, key=audit.audit_key(settings), tenant_id=tenant_id
            )

    checked, problems = _run(settings, work)
    if problems:
        for problem in problems:
            where = f"entry {problem.seq}" if problem.seq is not None else "chain head"
            typer.echo(f"TAMPERED tenant {problem.tenant_id} {where}: {problem.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {checked} entries verified")


@pricebook_cli.command("show")
def pricebook_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the published pricebook version and its plans."""
    settings = _settings()

    async def work(db: Database) -> dict[str, Any]:
        async with db.transaction() as session:
            version = await pricebook.published_version(session=session)
            return {
                "version": version.version,
                "status": version.status,
                "currency": version.currency,
                "published_at": version.published_at.isoformat() if version.published_at else None,
                "plans": version.plans,
            }

    book = _run(settings, work)
    if as_json:
        typer.echo(json.dumps(book))
        return
    typer.echo(
        f"pricebook v{book['version']} ({book['currency']}, published {book['published_at']})"
    )
    for plan in book["plans"]:
        seats = "unlimited" if plan["seats"] is None else plan["seats"]
        typer.echo(
            f"  {plan['code']:<11} {plan['monthly_price_cents'] / 100:>8.2f}/month  "
            f"{plan['included_credits']:>9,} credits  seats {seats}  "
            f"integrations {plan['integrations']}  support {plan['support']}"
        )


@pricebook_cli.command("publish")
def pricebook_publish(
    file: Annotated[Path, typer.Argument(help='JSON: {"plans": [...], "currency": "USD"}')],
) -> None:
    """Publish a new pricebook version from a JSON file (new subscriptions and renewals use it)."""
    settings = _settings()
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{file}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{file}: not valid JSON ({exc})") from None
    plans = document.get("plans") if isinstance(document, dict) else document
    currency = document.get("currency", "USD") if isinstance(document, dict) else "USD"
    if not isinstance(plans, list):
        raise UserError(f'{file}: expected {{"plans": [...]}} or a list of plans')

    async def work(db: Database) -> int:
        async with db.transaction() as session:
            draft = await pricebook.create_draft(
                session=session,
                settings=settings,
                actor=audit.CLI,
                plans=plans,
                currency=currency,
            )
            await pricebook.publish(
                session=session, settings=settings, actor=audit.CLI, version=draft.version
            )
            return draft.version

    typer.echo(f"pricebook v{_run(settings, work)} published")


@knowledge_cli.command("reindex")
def knowledge_reindex(
    business_id: Annotated[
        str | None, typer.Option("--business-id", help="Index one tenant only.")
    ] = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Embed every passage again, not only those without a vector of the current "
            "model (the tenant is searched by words only until it is done).",
        ),
    ] = False,
) -> None:
    """Embed tenants' passages for search by meaning, showing progress; exit 1 if any failed."""
    from bob.knowledge import embeddings

    settings = _settings()
    state = embeddings.status(settings)
    if state.status == "off":
        raise UserError("BOB_EMBEDDINGS=off: search by meaning is switched off")
    if state.status == "unavailable":
        raise UserError(f"{state.reason}; search uses words only")

    outcomes = _run(settings, lambda db: _reindex(db, settings, business_id, everything))
    failed = False
    for business, status, done, total in outcomes:
        failed = failed or status.startswith("failed")
        typer.echo(f"{business}: {done:,} of {total:,} passages embedded ({status})")
    if not outcomes:
        typer.echo("no tenant has knowledge to index")
    if failed:
        raise typer.Exit(1)


async def _reindex(
    db: Database, settings: Settings, business_id: str | None, everything: bool
) -> list[tuple[str, str, int, int]]:
    """Queue an index job per tenant and run each here, or follow it where another worker runs
    it. Ctrl-C stops after the current batch; the job waits in the queue where it left off."""
    import os
    import socket

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from sqlalchemy import select

    from bob.jobs import service as jobs
    from bob.jobs.runner import JobRunner
    from bob.knowledge import vectors
    from bob.knowledge.models import KnowledgeChunk
    from bob.tenants.models import Tenant

    async with db.transaction() as session:
        if business_id is not None:
            tenant = await tenants.get_tenant_by_business_id(
                session=session, business_id=business_id
            )
            targets = [(tenant.id, tenant.business_id)]
        else:
            with_knowledge = select(KnowledgeChunk.tenant_id).distinct()
            rows = await session.execute(
                select(Tenant.id, Tenant.business_id)
                .where(Tenant.id.in_(with_knowledge))
                .order_by(Tenant.business_id)
            )
            targets = [(tenant_id, business) for tenant_id, business in rows]
        job_ids = [
            (await vectors.request_reindex(session=session, tenant_id=t, everything=everything)).id
            for t, _ in targets
        ]

    runner = JobRunner(
        db=db,
        settings=settings,
        name=f"cli:{socket.gethostname()}:{os.getpid()}",
        work=knowledge_jobs.WORK,
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, runner.request_stop)
    outcomes: list[tuple[str, str, int, int]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns) as bar:
            for (tenant_id, business), job_id in zip(targets, job_ids, strict=True):
                task = bar.add_task(business, total=None)
                seen = [0, 0]

                def report(done: int, total: int, task: Any = task, seen: list[int] = seen) -> None:
                    seen[:] = [done, total]
                    bar.update(task, completed=done, total=total)

                status = "queued"
                while status in ("queued", "running"):
                    claim = await runner.claim(job_id)
                    if claim is not None:
                        status = await runner.run(claim, on_progress=report)
                        if status == "queued":  # stopped by Ctrl-C, or waiting to retry
                            break
                        continue
                    # Another worker has it (or this tenant's other job): follow its progress.
                    async with db.transaction() as session:
                        job = await jobs.get(session=session, tenant_id=tenant_id, job_id=job_id)
                    if job is None:
                        status = "gone"
                        break
                    status = job.status
                    report(job.progress_done, job.progress_total)
                    if status in ("queued", "running"):
                        await asyncio.sleep(0.5)
                async with db.transaction() as session:
                    job = await jobs.get(session=session, tenant_id=tenant_id, job_id=job_id)
                if job is not None and job.error and status != "done":
                    status = f"{status}: {job.error}"
                outcomes.append((business, status, seen[0], seen[1]))
                if runner.stopping:
                    break
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    return outcomes


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors are one line on stderr; bad arguments and refused requests exit 2."""
    try:
        result = cli(args=argv, standalone_mode=False, prog_name="bob")
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: missing or bad options, unknown commands
        if type(exc).__name__ == "NoArgsIsHelpError":  # `bob` or `bob tenant` alone: the help
            print(exc.format_message(), file=sys.stderr)
            sys.exit(2)
        message = exc.format_message().replace("\n", " ")
        context = getattr(exc, "ctx", None)
        command = context.command_path if context is not None else "bob"
        print(f"{command}: error: {message}", file=sys.stderr)
        sys.exit(2)
    except (UserError, BobError, ConfigurationError) as exc:
        print(f"bob: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (OSError, SQLAlchemyError) as exc:
        # Not the user's arguments but the environment: say what could not be reached.
        reason = getattr(exc, "orig", None) or exc
        print(f"bob: error: cannot use the database: {reason}".splitlines()[0], file=sys.stderr)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
