from __future__ import annotations

import pytest

from bob.errors import ValidationFailed
from bob.pagination import Cursor
from bob.tenants.service import check_business_id, slugify


def test_cursor_round_trip() -> None:
    cursor = Cursor({"seq": 41, "email": "a@example.com"})
    decoded = Cursor.decode(cursor.encode())
    assert decoded.as_int("seq") == 41
    assert decoded.as_str("email") == "a@example.com"


@pytest.mark.parametrize("token", ["!!", "bm90IGpzb24", "WzEsMl0", "eyJzZXEiOiJ4In0"])
def test_foreign_cursors_are_refused(token: str) -> None:
    with pytest.raises(ValidationFailed, match="cursor"):
        Cursor.decode(token).as_int("seq")


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Acme Café", "acme-cafe"), ("  Padaria São João!! ", "padaria-sao-joao"), ("A--B", "a-b")],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert check_business_id(slug) == slug


def test_slugify_without_latin_letters_still_gives_an_id() -> None:
    assert check_business_id(slugify("日本のお店")).startswith("business-")


@pytest.mark.parametrize("bad", ["", "UPPER", "-lead", "trail-", "a" * 64, "sp ace", "ü"])
def test_bad_business_ids(bad: str) -> None:
    with pytest.raises(ValidationFailed, match="business_id"):
        check_business_id(bad)
