"""Credits. Metering arrives with plans and the credit ledger; the chat pipeline already asks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ReplyAllowance:
    allowed: bool
    reason: str | None = None


async def authorize_reply(*, session: AsyncSession, tenant_id: uuid.UUID) -> ReplyAllowance:
    """Whether an AI reply may be produced for this tenant now. Every reply is allowed until
    the credit ledger exists; the pipeline calls this before the engine so the rule has one home.
    """
    return ReplyAllowance(allowed=True)
