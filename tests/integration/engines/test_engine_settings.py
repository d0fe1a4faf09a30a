"""Per-tenant engine overrides, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
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
from tests.engines_server import HOST, FakeOpenAI
from tests.factories import bearer, make_tenant
from tests.fake_dns import FakeDns, answers


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
    # The stub answers on loopback, which a tenant's URL reaches only on the operator's say-so.
    settings.tenant_engine_allowed_hosts = [HOST]
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
    assert engine.guarded
    assert engine.allowed_hosts == [HOST]
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
    assert isinstance(engine, OpenAIEngine)
    assert not engine.guarded  # the operator's endpoint, on loopback here, is trusted
    await complete(engine, engine_request())
    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-installation"
    assert fake_openai.requests[0].body["model"] == "tenant-model"


async def test_a_tenant_may_name_the_installations_own_endpoint(
    db: Database, settings: Settings, fake_openai: FakeOpenAI, tmp_path
) -> None:
    # Naming the URL the operator chose reaches nothing new, so the guard does not stand in the
    # way even though it is loopback; the installation's key goes with it, as without the URL.
    installation = make_settings(
        settings.database_url,
        tmp_path,
        openai_base_url=fake_openai.base_url,
        openai_api_key="sk-installation",
    )
    made = await make_tenant(db, installation)
    row = await save(
        db, installation, made.tenant.id, engine="openai", base_url=fake_openai.base_url + "/"
    )
    assert row.base_url == fake_openai.base_url
    engine = await engine_of(db, installation, made.tenant.id)
    assert isinstance(engine, OpenAIEngine)
    assert not engine.guarded
    await complete(engine, engine_request())
    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-installation"


async def test_the_installation_key_never_goes_to_a_tenants_own_url(
    db: Database, settings: Settings, fake_openai: FakeOpenAI, tmp_path
) -> None:
    installation = make_settings(
        settings.database_url,
        tmp_path,
        engine="openai",
        openai_base_url="https://api.openai.com/v1",
        openai_api_key="sk-installation",
        tenant_engine_allowed_hosts=[HOST],
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
        ({"base_url": "ftp://models.example.com"}, "base_url: must be an http(s) URL"),
        ({"base_url": "not a url"}, "base_url: must not contain spaces"),
        ({"base_url": "https://"}, "base_url: must name a host"),
        ({"base_url": "https://u:p@models.example.com/v1"}, "base_url: must not contain a user"),
        ({"base_url": "https://x.example.com/" + "a" * 500}, "base_url: must be at most 500"),
        ({"model": "m" * 201}, "model is longer than 200"),
    ],
)
async def test_invalid_overrides_are_refused(
    db: Database, settings: Settings, values: dict[str, str], message: str
) -> None:
    made = await make_tenant(db, settings)
    with pytest.raises(ValidationFailed) as caught:
        await save(db, settings, made.tenant.id, **values)
    assert caught.value.message.startswith(message)


async def test_production_accepts_only_https(
    db: Database, settings: Settings, tmp_path, fake_dns: FakeDns
) -> None:
    looked_up = fake_dns(answers("93.184.215.14"))
    production = make_settings(settings.database_url, tmp_path, env="production")
    made = await make_tenant(db, settings)
    with pytest.raises(ValidationFailed, match=r"^base_url: must use https$"):
        await save(db, production, made.tenant.id, base_url="http://models.example.com/v1")
    row = await save(db, production, made.tenant.id, base_url="HTTPS://Models.Example.com/v1/")
    assert row.base_url == "https://models.example.com/v1"
    # Development also allows plain http.
    row = await save(db, settings, made.tenant.id, base_url="http://models.example.com/v1")
    assert row.base_url == "http://models.example.com/v1"
    assert looked_up == ["models.example.com", "models.example.com"]


# ---- the network guard ---------------------------------------------------------------------

REFUSED = [
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a cloud metadata address"),
    ("http://[::1]:1/v1", "::1 is a loopback address"),
    ("http://localhost:1/v1", "localhost is a private host name"),
    ("http://10.0.0.1/v1", "10.0.0.1 is a private address"),
    ("http://2130706433:1/v1", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ("http://[::ffff:127.0.0.1]/v1", "::ffff:127.0.0.1 is a loopback address"),
    ("http://0x7f.1/v1", "0x7f.1 resolves to 127.0.0.1, a loopback address"),
    ("http://metadata.google.internal/", "metadata.google.internal is a cloud metadata host"),
    ("http://foo.localhost/", "foo.localhost is a private host name"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_private_and_metadata_urls_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, db: Database, settings: Settings, url: str, reason: str
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    before = {
        "engine": "openai",
        "model": "tenant-model",
        "base_url": settings.openai_base_url,
        "api_key": "sk-tenant",
    }
    saved = await client.put("/api/customers/engine", json=before, headers=owner)
    assert saved.status_code == 200, saved.text

    response = await client.put(
        "/api/customers/engine",
        json={"engine": "openai", "model": "other-model", "base_url": url, "api_key": "sk-new"},
        headers=owner,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"] == f"base_url: {reason}"
    assert (await client.get("/api/customers/engine", headers=owner)).json() == saved.json()
    async with db.transaction() as session:
        row = await engines.get_overrides(session=session, tenant_id=made.tenant.id)
        assert row is not None
        assert row.api_key_encrypted is not None
        assert engines.decrypt_secret(settings, row.api_key_encrypted) == "sk-tenant"


async def test_the_operators_allowed_hosts_open_only_themselves(
    db: Database, settings: Settings
) -> None:
    settings.tenant_engine_allowed_hosts = ["localhost"]
    made = await make_tenant(db, settings)
    row = await save(db, settings, made.tenant.id, base_url="http://LocalHost:11434/v1/")
    assert row.base_url == "http://localhost:11434/v1"
    for url, reason in [
        ("http://127.0.0.1:11434/v1", "127.0.0.1 is a loopback address"),
        ("http://foo.localhost/", "foo.localhost is a private host name"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            await save(db, settings, made.tenant.id, base_url=url)
        assert caught.value.message == f"base_url: {reason}"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://metadata.google.internal/", "metadata.google.internal is a cloud metadata host"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a cloud metadata address"),
    ],
)
async def test_the_operators_allowed_hosts_never_open_metadata(
    db: Database, settings: Settings, url: str, reason: str
) -> None:
    settings.tenant_engine_allowed_hosts = ["metadata.google.internal", "169.254.169.254"]
    made = await make_tenant(db, settings)
    with pytest.raises(ValidationFailed) as caught:
        await save(db, settings, made.tenant.id, base_url=url)
    assert caught.value.message == f"base_url: {reason}"


async def test_a_saved_url_is_checked_again_when_bob_connects(
    db: Database, settings: Settings, fake_openai: FakeOpenAI
) -> None:
    settings.tenant_engine_allowed_hosts = ["localhost"]
    made = await make_tenant(db, settings)
    url = f"http://localhost:{fake_openai.port}/v1"
    await save(db, settings, made.tenant.id, engine="openai", base_url=url)
    assert (await complete(await engine_of(db, settings, made.tenant.id), engine_request())).text

    # The operator takes the host off the list: the stored URL is refused before connecting.
    settings.tenant_engine_allowed_hosts = []
    engine = await engine_of(db, settings, made.tenant.id)
    with pytest.raises(EngineError, match=r"^refused: localhost is a private host name$"):
        await complete(engine, engine_request())
    assert len(fake_openai.requests) == 1


async def test_strictness_is_kept_unless_sent_and_refused_when_unknown(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    assert (await client.get("/api/customers/engine", headers=owner)).json()["strictness"] == (
        "balanced"
    )
    put = await client.put("/api/customers/engine", json={"strictness": "helpful"}, headers=owner)
    assert put.status_code == 200, put.text
    assert put.json()["strictness"] == "helpful"
    # A write that does not name it keeps it.
    put = await client.put("/api/customers/engine", json={"model": "m"}, headers=owner)
    assert put.json()["strictness"] == "helpful"
    bad = await client.put("/api/customers/engine", json={"strictness": "always"}, headers=owner)
    assert bad.status_code == 422
    assert "strictness" in bad.json()["error"]["message"]
    put = await client.put("/api/customers/engine", json={"strictness": None}, headers=owner)
    assert put.json()["strictness"] == "balanced"
