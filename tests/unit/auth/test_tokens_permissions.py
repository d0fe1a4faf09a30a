from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from bob.auth import tokens
from bob.auth.permissions import (
    FRONT_OFFICE,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    permissions_for,
)
from bob.db.types import utcnow
from bob.errors import Unauthorized
from bob.settings import derive_key

SECRET = b"unit-test-secret-unit-test-secret"


def test_access_token_round_trip() -> None:
    sid, uid = uuid.uuid4(), uuid.uuid4()
    now = utcnow()
    token = tokens.issue_access_token(
        secret=SECRET,
        session_id=sid,
        user_id=uid,
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    claims = tokens.read_access_token(secret=SECRET, token=token)
    assert (claims.session_id, claims.user_id) == (sid, uid)


def test_expired_and_tampered_tokens_are_refused() -> None:
    now = utcnow()
    expired = tokens.issue_access_token(
        secret=SECRET,
        session_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        issued_at=now - timedelta(hours=2),
        expires_at=now - timedelta(hours=1),
    )
    with pytest.raises(Unauthorized, match="expired"):
        tokens.read_access_token(secret=SECRET, token=expired)
    valid = tokens.issue_access_token(
        secret=SECRET,
        session_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    header, payload, signature = valid.split(".")
    with pytest.raises(Unauthorized):
        tokens.read_access_token(secret=SECRET, token=f"{header}.{payload}x.{signature}")
    with pytest.raises(Unauthorized):
        tokens.read_access_token(secret=b"another secret entirely!", token=valid)


def test_csrf_tokens_are_bound_to_the_session() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    token = tokens.csrf_token(secret=SECRET, session_id=a)
    assert tokens.csrf_matches(secret=SECRET, session_id=a, presented=token)
    assert not tokens.csrf_matches(secret=SECRET, session_id=b, presented=token)
    assert not tokens.csrf_matches(secret=SECRET, session_id=a, presented=None)
    assert not tokens.csrf_matches(secret=SECRET, session_id=a, presented="")


def test_keys_are_separate_per_purpose() -> None:
    assert derive_key(SECRET, "jwt") != derive_key(SECRET, "csrf")


def test_permission_table_matches_the_roles() -> None:
    tenant_permissions = {
        p for p in Permission if p.value.split(".")[0] not in {"tenants", "pricebook", "platform"}
    }
    assert permissions_for("owner") == tenant_permissions
    assert Permission.BILLING_MANAGE not in permissions_for("admin")
    assert Permission.TEAM_MANAGE not in permissions_for("agent")
    assert permissions_for("viewer") <= {
        Permission.CHAT_READ,
        Permission.BILLING_READ,
        Permission.ANALYTICS_READ,
    }
    # No tenant role holds a platform permission. Platform admins hold the front office's
    # tenant permissions (for the platform tenant, the only one they act for), never a
    # business's team or money.
    platform_only = {
        Permission.TENANTS_MANAGE,
        Permission.PRICEBOOK_MANAGE,
        Permission.PLATFORM_READ,
    }
    assert ROLE_PERMISSIONS[Role.PLATFORM_ADMIN] == platform_only | FRONT_OFFICE
    assert permissions_for("admin") >= FRONT_OFFICE
    assert not FRONT_OFFICE & {
        Permission.TEAM_MANAGE,
        Permission.BILLING_READ,
        Permission.BILLING_MANAGE,
    }
    for role in (Role.OWNER, Role.ADMIN, Role.AGENT, Role.VIEWER):
        assert not (ROLE_PERMISSIONS[role] & platform_only)
