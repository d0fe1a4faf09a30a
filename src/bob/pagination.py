"""Keyset pagination: `?limit=&cursor=` in, `{items, next_cursor}` out, for every list endpoint."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from bob.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Cursor:
    """An opaque position: the sort key of the last item a page returned."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def encode(self) -> str:
        raw = json.dumps(self.values, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            values = json.loads(raw)
        except (binascii.Error, ValueError):
            raise ValidationFailed("cursor: not a cursor this API returned") from None
        if not isinstance(values, dict):
            raise ValidationFailed("cursor: not a cursor this API returned")
        return cls(values)

    def _get(self, name: str) -> Any:
        if name not in self.values:
            raise ValidationFailed("cursor: not a cursor this API returned")
        return self.values[name]

    def as_int(self, name: str) -> int:
        value = self._get(name)
        if not isinstance(value, int):
            raise ValidationFailed("cursor: not a cursor this API returned")
        return value

    def as_datetime(self, name: str) -> datetime:
        try:
            return datetime.fromisoformat(self.as_str(name))
        except ValueError:
            raise ValidationFailed("cursor: not a cursor this API returned") from None

    def as_uuid(self, name: str) -> uuid.UUID:
        try:
            return uuid.UUID(self.as_str(name))
        except ValueError:
            raise ValidationFailed("cursor: not a cursor this API returned") from None

    def as_str(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise ValidationFailed("cursor: not a cursor this API returned")
        return value


class Page(Generic[T]):
    """One page of ORM rows; `rows` holds limit+1 items when there is more to read."""

    def __init__(self, items: list[T], next_cursor: str | None) -> None:
        self.items = items
        self.next_cursor = next_cursor

    @classmethod
    def of(
        cls, rows: Sequence[T], *, limit: int, cursor_for: Callable[[T], dict[str, Any]]
    ) -> Page[T]:
        items = list(rows[:limit])
        more = len(rows) > limit
        return cls(items, Cursor(cursor_for(items[-1])).encode() if more and items else None)


class PageParams(BaseModel):
    limit: int
    cursor: Cursor | None

    model_config = {"arbitrary_types_allowed": True}


def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=Cursor.decode(cursor) if cursor else None)


PageDep = Annotated[PageParams, Depends(_page_params)]


def like_pattern(text: str) -> str:
    """`%text%` for a case-insensitive LIKE, with the user's own % and _ taken literally
    (use with `escape="\\"`)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
