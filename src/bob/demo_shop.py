"""The demo shop: a stand-in business website on a second origin that embeds the widget."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates


def shop_origins(port: int) -> list[str]:
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


def create_shop_app(*, bundle_url: str, shop_name: str, port: int) -> Starlette:
    templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
    script_tag = f'<script src="{bundle_url}" async></script>'

    async def home(request: Request) -> Response:
        response: HTMLResponse = templates.TemplateResponse(
            request,
            "demo_shop.html",
            {
                "shop_name": shop_name,
                "shop_origin": f"http://{request.headers.get('host', f'127.0.0.1:{port}')}",
                "script_tag": script_tag,
            },
        )
        return response

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    return Starlette(routes=[Route("/", home), Route("/favicon.ico", no_icon)])
