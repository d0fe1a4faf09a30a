"""Signed tokens: JWT access tokens naming a server-side session, and CSRF tokens bound to it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography.fernet import Fernet, InvalidToken

from bob.errors import Unauthorized
from bob.settings import derive_key

_ALGORITHM = "HS256"
_ISSUER = "bob"


class SecretUnreadable(ValueError):
    """A stored secret cannot be decrypted: the installation secret changed, or it was altered."""


def _fernet(secret: bytes, purpose: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, purpose)))


def encrypt(secret: bytes, purpose: str, plaintext: str) -> str:
    """Seal a secret Bob must read back later (an API key, a webhook signing secret)."""
    return _fernet(secret, purpose).encrypt(plaintext.encode()).decode()


def decrypt(secret: bytes, purpose: str, token: str) -> str:
    try:
        return _fernet(secret, purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("the stored secret cannot be decrypted") from None


@dataclass(frozen=True)
class TokenClaims:
    session_id: uuid.UUID
    user_id: uuid.UUID


def issue_access_token(
    *,
    secret: bytes,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    claims = {
        "iss": _ISSUER,
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return jwt.encode(claims, derive_key(secret, "jwt"), algorithm=_ALGORITHM)


def read_access_token(*, secret: bytes, token: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            derive_key(secret, "jwt"),
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            options={"require": ["exp", "sub", "sid", "iss"]},
        )
        return TokenClaims(session_id=uuid.UUID(claims["sid"]), user_id=uuid.UUID(claims["sub"]))
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired; log in again") from None
    except (jwt.InvalidTokenError, ValueError):
        raise Unauthorized("the access token is not valid") from None


def csrf_token(*, secret: bytes, session_id: uuid.UUID) -> str:
    digest = hmac.new(derive_key(secret, "csrf"), session_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_matches(*, secret: bytes, session_id: uuid.UUID, presented: str | None) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(csrf_token(secret=secret, session_id=session_id), presented)


def hash_opaque_token(token: str) -> str:
    """Invite links are random; only their SHA-256 is stored, so a database leak exposes none."""
    return hashlib.sha256(token.encode()).hexdigest()
