"""The docs site's pages: the start page with the live pricebook, the API reference and the
guides, in each language under its own path prefix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from bob.billing import pricebook
from bob.billing.pricebook import PlanTerms
from bob.docsite import guides, reference
from bob.errors import NotFound
from bob.settings import Settings
from bob.web import i18n
from bob.web.page import N_, PUBLIC, Page
from bob.widget import service as widget

# The language comes from the path, so every page has one address per language.
PREFIXES: dict[str, str] = {"en": "", "pt-BR": "/pt-BR", "ja": "/ja"}
REFERENCE = "api"
SUPPORT_LABELS = {
    "email": N_("Email support"),
    "priority": N_("Priority support"),
    "dedicated": N_("Dedicated support"),
}


@dataclass(frozen=True)
class Alternate:
    code: str
    name: str
    url: str


@dataclass(frozen=True)
class NavGuide:
    slug: str
    title: str
    url: str


@dataclass(frozen=True)
class Pricebook:
    version: int
    currency: str
    published_at: datetime | None
    plans: list[PlanTerms]


def embed_snippet(public_url: str) -> str:
    """The tenant tag as the widget-code API gives it, with a placeholder for the tenant id."""
    return widget.script_tag(public_url, "{tenant_id}")


def loader_snippet(public_url: str) -> str:
    return widget.loader_tag(public_url, "pk_live_…", "bottom-right")


def home(language: str) -> str:
    return f"{PREFIXES[language]}/docs"


def page_for(request: Request, language: str) -> Page:
    settings: Settings = request.app.state.settings
    return Page(request=request, settings=settings, area=PUBLIC, language=language)


def _alternates(rest: str) -> list[Alternate]:
    return [Alternate(code, name, f"{home(code)}{rest}") for code, name in i18n.LANGUAGES.items()]


def _nav(language: str) -> list[NavGuide]:
    library = guides.library()
    if library is None:
        return []
    return [
        NavGuide(g.slug, library.title(g, language), f"{home(language)}/{g.slug}")
        for g in library.ordered()
    ]


def _render(
    page: Page, template: str, *, rest: str, current: str, status: int = 200, **context: object
) -> HTMLResponse:
    return page.render(
        template,
        status=status,
        docs_home=home(page.language),
        alternates=_alternates(rest),
        nav_guides=_nav(page.language),
        current=current,
        reference_url=f"{home(page.language)}/{REFERENCE}",
        **context,
    )


async def published_pricebook(session: AsyncSession) -> Pricebook | None:
    try:
        version = await pricebook.published_version(session=session)
    except NotFound:
        return None
    return Pricebook(
        version=version.version,
        currency=version.currency,
        published_at=version.published_at,
        plans=list(pricebook.terms_of(version).values()),
    )


async def start_page(request: Request, language: str, session: AsyncSession) -> HTMLResponse:
    page = page_for(request, language)
    settings = page.settings
    return _render(
        page,
        "docs/start.html",
        rest="",
        current="start",
        embed_snippet=embed_snippet(settings.public_url),
        loader_snippet=loader_snippet(settings.public_url),
        allow_signup=settings.allow_signup,
        pricebook=await published_pricebook(session),
        support_labels=SUPPORT_LABELS,
    )


def reference_page(request: Request, language: str) -> HTMLResponse:
    page = page_for(request, language)
    built = reference.build(request.app)
    anchors = {(op.method, op.path): op.anchor for op in built.operations}
    return _render(
        page,
        "docs/reference.html",
        rest=f"/{REFERENCE}",
        current=REFERENCE,
        reference=built,
        seed_rows=[(method, path, anchors.get((method, path))) for method, path in built.seed],
        markdown=lambda text: guides.render(text).html,
        markdown_inline=guides.render_inline,
    )


def guide_page(request: Request, language: str, slug: str) -> HTMLResponse:
    page = page_for(request, language)
    library = guides.library()
    guide = library.guides.get(slug) if library is not None else None
    if library is None or guide is None:
        return _render(
            page,
            "docs/not_found.html",
            rest="",
            current="",
            status=404,
            missing=slug,
        )
    rendered, translated = library.render(guide, language, PREFIXES[language])
    return _render(
        page,
        "docs/guide.html",
        rest=f"/{slug}",
        current=slug,
        guide=rendered,
        toc=[h for h in rendered.headings if h.level == 2],
        translated=translated or language == i18n.DEFAULT,
        english_url=f"{home(i18n.DEFAULT)}/{slug}",
    )


def image(name: str) -> tuple[str, str] | None:
    library = guides.library()
    found = library.image(name) if library is not None else None
    return (str(found[0]), found[1]) if found is not None else None
