from __future__ import annotations

import pytest

from bob.auth import passwords
from bob.errors import ValidationFailed


async def test_hash_is_argon2id_and_verifies() -> None:
    stored = await passwords.hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify_password(stored, "a long enough password")
    assert not await passwords.verify_password(stored, "a long enough passwore")


async def test_no_stored_hash_never_verifies() -> None:
    assert not await passwords.verify_password(None, "not-a-real-password-only-for-timing")


async def test_password_longer_than_the_maximum_does_not_match_its_prefix() -> None:
    exact = "p" * passwords.MAX_PASSWORD_LENGTH
    stored = await passwords.hash_password(exact)
    assert await passwords.verify_password(stored, exact)
    assert not await passwords.verify_password(stored, exact + "extra")


@pytest.mark.parametrize("bad", ["", "123456789", "x" * (passwords.MAX_PASSWORD_LENGTH + 1)])
async def test_rules(bad: str) -> None:
    with pytest.raises(ValidationFailed, match="password"):
        await passwords.hash_password(bad)
