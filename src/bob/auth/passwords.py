"""argon2id hashing. Hashing is CPU-bound, so it runs in a worker thread, off the event loop."""

from __future__ import annotations

from functools import cache

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bob.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 10
# Bounded so nobody can make the server hash megabytes.
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-only-for-timing")


def check_password_rules(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"{field} must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"{field} must be at most {MAX_PASSWORD_LENGTH} characters")


async def hash_password(password: str) -> str:
    check_password_rules(password)
    return await anyio.to_thread.run_sync(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    # With no stored hash, verify against a dummy one anyway so the time taken is the same
    # and response timing does not reveal which accounts exist.
    # No stored password is longer than the maximum, so a longer one cannot match; it is still
    # verified (truncated) to spend the same time.
    fits = len(password) <= MAX_PASSWORD_LENGTH
    try:
        ok = _hasher.verify(stored or _dummy_hash(), password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return False
    return ok and fits and stored is not None


async def verify_password(stored: str | None, password: str) -> bool:
    return await anyio.to_thread.run_sync(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
