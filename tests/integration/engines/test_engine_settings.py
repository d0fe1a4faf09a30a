"""Per-tenant engine overrides, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bob.db.session import Database
from bob.engines import service as engines
from bob.engines.base import EngineError, complete
from bob.engines.extractive import ExtractiveEngine
from bob.engines.models import TenantEngineSettings
from bob.engines.openai import OpenAIEngine
from bob.errors import ValidationFailed
from bob.settings import Settings
from tests.conftest import TEST_SECRET, make_settings
from tests.engines_data import engine_request
from tests.engines_server import FakeOpenAI
from tests.factories import make_tenant


async def save(db: Database, settings: Settings, tenant_id, **values) -> TenantEngineSettings:
    fields = {"engine": None, "model": None, "base_url": None, "api_key": None} | values
    async with db.transaction() as session:
        return await engines.set_overrides(
            session=session, settings=settings, tenant_id=tenant_id, **fields
        )


async def engine_of(db: Database, settings: Settings, tenant_id):
    async with db.transaction() as session:
        return await engines.engine_for(session=session, settings=settings, tenant_id=tenant_id)


async def test_without_overrides_the_installation_engine_answers(
    db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    async with db.transaction() as session:
        assert await engines.get_overrides(session=session, tenant_id=made.tenant.id) is None
    engine = await engine_of(db, settings, made.tenant.id)
    assert isinstance(engine, ExtractiveEngine)
    assert engine.min_score == settings.extractive_min_score


async def test_a_tenant_override_picks_its_engine_and_only_for_that_tenant(
    db: Database, settings: Settings, fake_openai: FakeOpenAI
) -> None:
    mine = await make_tenant(db, settings)
    other = await make_tenant(db, settings)
    await save(
        db,
        settings,
        mine.tenant.id,
        engine="openai",
        model=" tenant-model ",
        base_url=fake_openai.base_url + "/",
        api_key="sk-tenant-secret",
    )

    engine = await engine_of(db, settings, mine.tenant.id)
    assert isinstance(engine, OpenAIEngine)
    assert engine.base_url == fake_openai.base_url
    assert engine.model == "tenant-model"
    assert engine.timeout_s == settings.openai_timeout_s
    assert isinstance(await engine_of(db, settings, other.tenant.id), ExtractiveEngine)

    result = await complete(engine, engine_request())
    assert result.text == "Hello there."
    [request] = fake_openai.requests
    assert request.headers["authorization"] == "Bearer sk-tenant-secret"
    assert request.body["model"] == "tenant-model"

    async with db.transaction() as session:
        stored = await session.scalar(
            select(TenantEngineSettings.api_key_encrypted).where(
                TenantEngineSettings.tenant_id == mine.tenant.id
            )
        )
    assert stored is not None
    assert "sk-tenant-secret" not in stored
    assert engines.decrypt_secret(settings, stored) == "sk-tenant-secret"


async def test_the_key_is_kept_replaced_or_cleared(db: Database, settings: Settings) -> None:
    made = await make_tenant(db, settings)
    tenant_id = made.tenant.id
    row = await save(db, settings, tenant_id, engine="openai", api_key="sk-first")
    first = row.api_key_encrypted
    assert first is not None

    row = await save(db, settings, tenant_id, engine="openai", model="m2", api_key=None)
    assert row.api_key_encrypted == first
    assert row.model == "m2"

    row = await save(db, settings, tenant_id, engine="openai", api_key="sk-second")
    assert row.api_key_encrypted is not None
    assert engines.decrypt_secret(settings, row.api_key_encrypted) == "sk-second"

    row = await save(db, settings, tenant_id, engine="openai", api_key="")
    assert row.api_key_encrypted is None


async def test_clearing_the_engine_returns_to_the_installation_default(
    db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    await save(db, settings, made.tenant.id, engine="openai")
    assert isinstance(await engine_of(db, settings, made.tenant.id), OpenAIEngine)
    await save(db, settings, made.tenant.id, engine=None)
    assert isinstance(await engine_of(db, settings, made.tenant.id), ExtractiveEngine)


async def test_the_installation_engine_and_key_apply_when_the_tenant_sets_only_a_model(
    db: Database, settings: Settings, fake_openai: FakeOpenAI, tmp_path
) -> None:
    installation = make_settings(
        settings.database_url,
        tmp_path,
        engine="openai",
        openai_base_url=fake_openai.base_url,
        openai_api_key="sk-installation",
    )
    made = await make_tenant(db, installation)
    await save(db, installation, made.tenant.id, model="tenant-model")
    engine = await engine_of(db, installation, made.tenant.id)
    await complete(engine, engine_request())
    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-installation"
    assert fake_openai.requests[0].body["model"] == "tenant-model"


async def test_the_installation_key_never_goes_to_a_tenants_own_url(
    db: Database, settings: Settings, fake_openai: FakeOpenAI, tmp_path
) -> None:
    installation = make_settings(
        settings.database_url,
        tmp_path,
        engine="openai",
        openai_base_url="https://api.openai.com/v1",
        openai_api_key="sk-installation",
    )
    made = await make_tenant(db, installation)
    await save(db, installation, made.tenant.id, base_url=fake_openai.base_url)
    engine = await engine_of(db, installation, made.tenant.id)
    await complete(engine, engine_request())
    assert fake_openai.requests[0].headers["authorization"] == "Bearer no-key"


async def test_a_key_that_cannot_be_decrypted_means_engine_error_not_a_crash(
    db: Database, settings: Settings, tmp_path
) -> None:
    made = await make_tenant(db, settings)
    await save(db, settings, made.tenant.id, engine="openai", api_key="sk-old")
    rotated = make_settings(
        settings.database_url, tmp_path, secret_key=TEST_SECRET[::-1] + "-rotated"
    )
    engine = await engine_of(db, rotated, made.tenant.id)
    assert engine.name == "openai"
    with pytest.raises(EngineError, match="cannot be decrypted"):
        await complete(engine, engine_request())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"engine": "gpt"}, "engine must be one of"),
        ({"base_url": "ftp://models.example.com"}, "base_url must be"),
        ({"base_url": "not a url"}, "base_url must be"),
        ({"base_url": "https://"}, "base_url must be"),
        ({"base_url": "https://x.example.com/" + "a" * 500}, "longer than 500"),
        ({"model": "m" * 201}, "longer than 200"),
    ],
)
async def test_invalid_overrides_are_refused(
    db: Database, settings: Settings, values: dict[str, str], message: str
) -> None:
    made = await make_tenant(db, settings)
    with pytest.raises(ValidationFailed, match=message):
        await save(db, settings, made.tenant.id, **values)


async def test_production_accepts_only_https(db: Database, settings: Settings, tmp_path) -> None:
    production = make_settings(settings.database_url, tmp_path, env="production")
    made = await make_tenant(db, settings)
    with pytest.raises(ValidationFailed, match="https"):
        await save(db, production, made.tenant.id, base_url="http://models.internal/v1")
    row = await save(db, production, made.tenant.id, base_url="https://models.example.com/v1")
    assert row.base_url == "https://models.example.com/v1"
    # Development also allows plain http, for a model server on the same machine.
    row = await save(db, settings, made.tenant.id, base_url="http://127.0.0.1:11434/v1")
    assert row.base_url == "http://127.0.0.1:11434/v1"
