from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from bob.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from bob.schemas import WriteModel
from bob.tenants.models import Plan
from bob.tenants.schemas import TenantBrief

BusinessId = str
# A new password; login bodies take any string so old or odd passwords still get a clean 401.
NewPassword = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
PlanCode = Literal["starter", "pro", "enterprise"]
TenantRole = Literal["owner", "admin", "agent", "viewer"]


class TenantRead(TenantBrief):
    status: str
    plan: str
    created_at: datetime
    suspended_at: datetime | None


class TenantCreate(WriteModel):
    name: str = Field(min_length=1, max_length=200)
    business_id: BusinessId | None = Field(
        None, description="Lowercase slug; made from the name when omitted."
    )
    plan: PlanCode = Plan.STARTER.value
    owner_email: EmailStr
    owner_name: str = Field("", max_length=200)
    owner_password: NewPassword | None = Field(
        None, description="Without it the response carries a one-time invite_url for the owner."
    )


class TenantUpdate(WriteModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    plan: PlanCode | None = None


class TenantCreated(BaseModel):
    tenant: TenantRead
    owner: MemberRead
    invite_url: str | None = None


class SignupRequest(WriteModel):
    business_name: str = Field(min_length=1, max_length=200)
    business_id: BusinessId | None = None
    email: EmailStr
    password: NewPassword
    name: str = Field("", max_length=200)
    plan: PlanCode = Plan.STARTER.value


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    invite_pending: bool = False


class MemberCreate(WriteModel):
    email: EmailStr
    role: TenantRole
    name: str = Field("", max_length=200)
    password: NewPassword | None = Field(
        None, description="Without it the response carries a one-time invite_url (7 days)."
    )


class MemberCreated(MemberRead):
    invite_url: str | None = None


class MemberUpdate(WriteModel):
    role: TenantRole | None = None
    name: str | None = Field(None, max_length=200)
    is_active: bool | None = None


class InviteAccept(WriteModel):
    password: NewPassword
    name: str | None = Field(None, max_length=200)


class TenantPage(BaseModel):
    items: list[TenantRead]
    next_cursor: str | None


class MemberPage(BaseModel):
    items: list[MemberRead]
    next_cursor: str | None


TenantCreated.model_rebuild()
