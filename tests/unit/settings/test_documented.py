"""Every setting is documented where operators look: the README's table and .env.example."""

from __future__ import annotations

from pathlib import Path

import pytest

from bob.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_and_env_example(name: str) -> None:
    variable = f"BOB_{name.upper()}"
    assert f"| `{variable}` |" in (ROOT / "README.md").read_text(), f"{variable} not in README"
    env_example = (ROOT / ".env.example").read_text()
    assert f"# {variable}=" in env_example, f"{variable} not in .env.example"
