"""The developer docs site: /docs, /pt-BR/docs and /ja/docs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from bob.deps import SessionDep
from bob.docsite import site
from bob.errors import NotFound

router = APIRouter(include_in_schema=False)


@router.get("/docs/img/{name}")
async def guide_image(name: str) -> Response:
    found = site.image(name)
    if found is None:
        raise NotFound(f"no image named {name!r}")
    path, media_type = found
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
    )


def _start(language: str) -> Callable[..., Awaitable[Response]]:
    async def start(request: Request, session: SessionDep) -> Response:
        return await site.start_page(request, language, session)

    return start


def _reference(language: str) -> Callable[..., Awaitable[Response]]:
    async def api_reference(request: Request) -> Response:
        return site.reference_page(request, language)

    return api_reference


def _guide(language: str) -> Callable[..., Awaitable[Response]]:
    async def guide(request: Request, slug: str) -> Response:
        return site.guide_page(request, language, slug)

    return guide


for _language, _prefix in site.PREFIXES.items():
    _name = _language.replace("-", "_").lower()
    router.add_api_route(f"{_prefix}/docs", _start(_language), name=f"docs_{_name}")
    router.add_api_route(
        f"{_prefix}/docs/{site.REFERENCE}", _reference(_language), name=f"docs_api_{_name}"
    )
    router.add_api_route(f"{_prefix}/docs/{{slug}}", _guide(_language), name=f"docs_guide_{_name}")
