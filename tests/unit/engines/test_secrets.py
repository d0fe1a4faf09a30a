from __future__ import annotations

from pathlib import Path

import pytest

from bob.engines.service import SecretUnreadable, decrypt_secret, encrypt_secret
from tests.conftest import make_settings


def settings_with(tmp_path: Path, secret: str):
    return make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", tmp_path, secret_key=secret
    )


def test_round_trip(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, "one-installation-secret-" + "x1y2z3w4" * 4)
    token = encrypt_secret(settings, "sk-live-abc123")
    assert "sk-live-abc123" not in token
    assert decrypt_secret(settings, token) == "sk-live-abc123"
    # Fernet tokens are randomised: the same key never gives the same ciphertext twice.
    assert encrypt_secret(settings, "sk-live-abc123") != token


def test_a_different_secret_cannot_decrypt(tmp_path: Path) -> None:
    ours = settings_with(tmp_path, "one-installation-secret-" + "x1y2z3w4" * 4)
    theirs = settings_with(tmp_path, "another-installation-secret-" + "q9r8s7t6" * 4)
    token = encrypt_secret(ours, "sk-live-abc123")
    with pytest.raises(SecretUnreadable):
        decrypt_secret(theirs, token)
    with pytest.raises(ValueError, match="cannot be decrypted"):
        decrypt_secret(ours, token[:-4] + "AAAA")
