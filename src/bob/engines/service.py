"""Which engine answers for a tenant: the installation's settings, or the tenant's own override."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from bob.auth import tokens
from bob.auth.tokens import SecretUnreadable as SecretUnreadable  # re-exported for callers
from bob.engines.base import Engine, EngineError, EngineRequest, EngineResult, TokenDelta
from bob.engines.extractive import ExtractiveEngine
from bob.engines.models import TenantEngineSettings
from bob.engines.openai import OpenAIEngine
from bob.errors import ValidationFailed
from bob.net import guard
from bob.settings import Settings
from bob.text import grounding

ENGINES = frozenset({"extractive", "openai"})
_MODEL_MAX = 200
_BASE_URL_MAX = 500
_PURPOSE = "engine-keys"


def encrypt_secret(settings: Settings, plaintext: str) -> str:
    return tokens.encrypt(settings.secret, _PURPOSE, plaintext)


def decrypt_secret(settings: Settings, token: str) -> str:
    return tokens.decrypt(settings.secret, _PURPOSE, token)


async def get_overrides(
    *, session: AsyncSession, tenant_id: uuid.UUID
) -> TenantEngineSettings | None:
    return await session.get(TenantEngineSettings, tenant_id)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def _is_installation_url(settings: Settings, base_url: str | None) -> bool:
    return base_url is None or base_url.rstrip("/") == settings.openai_base_url.rstrip("/")


async def _checked_base_url(settings: Settings, base_url: str) -> str:
    if len(base_url) > _BASE_URL_MAX:
        raise ValidationFailed(f"base_url: must be at most {_BASE_URL_MAX} characters")
    if _is_installation_url(settings, base_url):
        # The operator chose that endpoint for the whole installation; naming it again is no
        # new reach, even when it is a model server on this machine.
        return base_url.rstrip("/")
    checked = await guard.check_url(
        base_url,
        field="base_url",
        https_only=settings.is_production,
        allow_private=False,
        allowed_hosts=settings.tenant_engine_allowed_hosts,
    )
    return checked.rstrip("/")


async def set_overrides(
    *,
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    engine: str | None,
    model: str | None,
    base_url: str | None,
    api_key: str | None,
) -> TenantEngineSettings:
    """Replace the tenant's override; None for engine, model or base_url means "use the default".

    `api_key=None` keeps the stored key and `api_key=""` removes it, so a form that never shows
    the key back can still be saved without losing it.
    """
    engine = _clean(engine)
    if engine is not None and engine not in ENGINES:
        raise ValidationFailed(f"engine must be one of {', '.join(sorted(ENGINES))}")
    model = _clean(model)
    if model is not None and len(model) > _MODEL_MAX:
        raise ValidationFailed(f"model is longer than {_MODEL_MAX} characters")
    base_url = _clean(base_url)
    if base_url is not None:
        base_url = await _checked_base_url(settings, base_url)

    row = await get_overrides(session=session, tenant_id=tenant_id)
    if row is None:
        row = TenantEngineSettings(tenant_id=tenant_id)
        session.add(row)
    row.engine = engine
    row.model = model
    row.base_url = base_url
    if api_key is not None:
        api_key = api_key.strip()
        row.api_key_encrypted = encrypt_secret(settings, api_key) if api_key else None
    await session.flush()
    return row


def strictness_of(row: TenantEngineSettings | None) -> grounding.Strictness:
    value = row.strictness if row is not None else None
    for choice in grounding.STRICTNESS:
        if value == choice:
            return choice
    return grounding.DEFAULT_STRICTNESS


async def set_strictness(
    *, session: AsyncSession, tenant_id: uuid.UUID, strictness: str | None
) -> TenantEngineSettings:
    """None restores the default."""
    if strictness is not None and strictness not in grounding.STRICTNESS:
        raise ValidationFailed(f"strictness must be one of {', '.join(grounding.STRICTNESS)}")
    row = await get_overrides(session=session, tenant_id=tenant_id)
    if row is None:
        row = TenantEngineSettings(tenant_id=tenant_id)
        session.add(row)
    row.strictness = strictness
    await session.flush()
    return row


async def strictness_for(*, session: AsyncSession, tenant_id: uuid.UUID) -> grounding.Strictness:
    """How sure Bob must be before it answers this tenant's visitors."""
    return strictness_of(await get_overrides(session=session, tenant_id=tenant_id))


class _UnavailableEngine:
    """Stands in when the configured engine cannot be built, so the chat hands over, not fails."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    async def stream(self, request: EngineRequest) -> AsyncIterator[TokenDelta | EngineResult]:
        raise EngineError(self.reason)
        # Never reached; its presence makes this an async generator like every other engine.
        yield  # type: ignore[unreachable]


def build_engine(*, settings: Settings, overrides: TenantEngineSettings | None) -> Engine:
    name = (overrides.engine if overrides else None) or settings.engine
    if name == "extractive":
        return ExtractiveEngine(min_score=settings.extractive_min_score)

    own_url = overrides.base_url if overrides else None
    base_url = own_url or settings.openai_base_url
    installation_url = _is_installation_url(settings, own_url)
    api_key: str | None = None
    if overrides is not None and overrides.api_key_encrypted:
        try:
            api_key = decrypt_secret(settings, overrides.api_key_encrypted)
        except SecretUnreadable:
            return _UnavailableEngine(
                "openai", "the tenant's API key cannot be decrypted; set it again"
            )
    elif installation_url and settings.openai_api_key is not None:
        # The installation's key goes only to the installation's endpoint, never to a URL a
        # tenant chose.
        api_key = settings.openai_api_key.get_secret_value()
    model = (overrides.model if overrides else None) or settings.openai_model
    return OpenAIEngine(
        base_url=base_url,
        api_key=api_key,
        model=model,
        timeout_s=settings.openai_timeout_s,
        # A tenant's URL passed the guard when it was saved; it is checked again on every
        # connection, since the name may resolve elsewhere by now or the operator's allowed
        # hosts may have changed.
        guarded=not installation_url,
        allowed_hosts=settings.tenant_engine_allowed_hosts,
    )


async def engine_for(*, session: AsyncSession, settings: Settings, tenant_id: uuid.UUID) -> Engine:
    overrides = await get_overrides(session=session, tenant_id=tenant_id)
    return build_engine(settings=settings, overrides=overrides)
