"""The developer docs site: /docs, /pt-BR/docs and /ja/docs."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
