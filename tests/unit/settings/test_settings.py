from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from bob.errors import ConfigurationError
from bob.settings import Settings, normalize_database_url


def make(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ["BOB_ENV", "BOB_DATABASE_URL", "BOB_PUBLIC_URL", "BOB_HOST", "BOB_PORT"]:
        monkeypatch.delenv(name, raising=False)
    settings = make(tmp_path)
    assert settings.env == "development"
    assert settings.database_url == f"sqlite+aiosqlite:///{(tmp_path / 'bob.db').as_posix()}"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.platform_business_id == "bob-platform"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.allow_signup is False


def test_environment_variables_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOB_PORT", "9100")
    monkeypatch.setenv("BOB_ALLOW_SIGNUP", "true")
    monkeypatch.setenv("BOB_FORWARDED_ALLOW_IPS", "10.0.0.1, 10.0.0.2")
    settings = make(tmp_path)
    assert settings.port == 9100
    assert settings.allow_signup is True
    assert settings.forwarded_allow_ips == ["10.0.0.1", "10.0.0.2"]
    assert settings.public_url.endswith(":9100")


def test_development_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = make(tmp_path).secret
    second = make(tmp_path).secret
    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


@pytest.mark.parametrize("key", [None, "", "short", "changeme", "a" * 40])
def test_production_refuses_missing_or_weak_secret(tmp_path: Path, key: str | None) -> None:
    values: dict[str, Any] = {"env": "production"}
    if key is not None:
        values["secret_key"] = key
    settings = make(tmp_path, **values)
    with pytest.raises(ConfigurationError, match="BOB_SECRET_KEY"):
        settings.check()
    assert not (tmp_path / "secret_key").exists()


def test_production_accepts_a_strong_secret(tmp_path: Path) -> None:
    settings = make(tmp_path, env="production", secret_key="k3Y-" + "x1y2z3w4" * 5)
    settings.check()
    assert settings.secret.startswith(b"k3Y-")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_are_normalized(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_unknown_database_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="BOB_DATABASE_URL"):
        normalize_database_url("mysql://u@h/db")


@pytest.mark.parametrize(
    ("field", "value"),
    [("platform_business_id", "Not A Slug"), ("public_url", "office.example.com"), ("port", 0)],
)
def test_bad_values_name_the_field(tmp_path: Path, field: str, value: object) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=field):
        make(tmp_path, **{field: value})


def test_secure_cookies_follow_the_public_url(tmp_path: Path) -> None:
    assert make(tmp_path, public_url="https://office.example.com/").secure_cookies
    assert make(tmp_path, public_url="https://office.example.com/").public_url == (
        "https://office.example.com"
    )
    assert not make(tmp_path, public_url="http://localhost:8000").secure_cookies


@pytest.mark.parametrize(
    "field", ["login_limit_per_account_ip", "login_limit_per_ip", "login_slowdown_per_account"]
)
def test_rate_limits_must_parse(tmp_path: Path, field: str) -> None:
    from pydantic import ValidationError

    assert make(tmp_path, **{field: "3 per minute"})
    with pytest.raises(ValidationError, match=field):
        make(tmp_path, **{field: "lots"})


def test_the_webhook_retry_schedule_is_read_as_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    assert make(tmp_path).webhook_retry_schedule == [5, 300, 1800, 7200, 18000, 36000, 36000]
    monkeypatch.setenv("BOB_WEBHOOK_RETRY_SCHEDULE", " 1, 2.5 ,60")
    assert make(tmp_path).webhook_retry_schedule == [1.0, 2.5, 60.0]
    for bad in ("soon", "5,-1", "5,700000", ",".join(["1"] * 21)):
        monkeypatch.setenv("BOB_WEBHOOK_RETRY_SCHEDULE", bad)
        with pytest.raises(ValidationError, match="webhook_retry_schedule"):
            make(tmp_path)


def test_tenant_engine_allowed_hosts_are_read_as_host_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    assert make(tmp_path).tenant_engine_allowed_hosts == []
    monkeypatch.setenv("BOB_TENANT_ENGINE_ALLOWED_HOSTS", " vLLM.Internal. , 10.0.0.5,[fd00::1]")
    assert make(tmp_path).tenant_engine_allowed_hosts == ["vllm.internal", "10.0.0.5", "[fd00::1]"]
    # A URL or a port would match no host, so the operator hears of it at start.
    for bad in ("http://vllm.internal", "vllm.internal:8000", "vllm.internal/v1"):
        monkeypatch.setenv("BOB_TENANT_ENGINE_ALLOWED_HOSTS", bad)
        with pytest.raises(ValidationError, match="tenant_engine_allowed_hosts"):
            make(tmp_path)
