from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from bob.auth.models import User
from bob.auth.permissions import permissions_for
from bob.schemas import WriteModel
from bob.tenants.schemas import TenantBrief


class LoginRequest(WriteModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    cookie: bool = Field(
        False, description="Open a cookie session (HttpOnly cookie + CSRF token) instead."
    )


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: str
    tenant_id: uuid.UUID | None
    permissions: list[str]
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserRead:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            tenant_id=user.tenant_id,
            permissions=sorted(permissions_for(user.role)),
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class LoginResponse(BaseModel):
    access_token: str | None = Field(
        description="Bearer token; null for cookie sessions, whose token stays in the cookie."
    )
    token_type: Literal["bearer", "cookie"]
    expires_in: int
    user: UserRead
    tenant: TenantBrief | None = None
    csrf_token: str | None = Field(
        None, description="Cookie sessions only: send it as X-CSRF-Token on unsafe requests."
    )


class MeResponse(BaseModel):
    user: UserRead
    tenant: TenantBrief | None
    auth: Literal["bearer", "cookie"]
    expires_at: datetime
