"""The guides in docs/*.md, rendered for the site.

Markdown is rendered with raw HTML switched off, so whatever a guide contains comes out as text;
markdown-it also refuses `javascript:`-style link targets. Headings get GitHub-style ids (so the
guides' own `file.md#anchor` links keep working), or the id a translation names with a trailing
`{#id}`, which keeps anchors the same in every language. Links between guides are rewritten to
the site's URLs in the reader's language; links to files that are not guides lose their target.

Where the guides are: the repository's docs/ next to src/ (Bob runs from a checkout installed
with `pip install -e .`), or a `bundled_docs` folder inside this package when a build ships
one there. Translations live in docs/<language>/<same name>.md.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bob.web import i18n

PACKAGE_GUIDES = Path(__file__).parent / "bundled_docs"
REPOSITORY_GUIDES = Path(__file__).resolve().parents[3] / "docs"
# The guide's own file name is kept in URLs, except where it would hide another page.
SLUGS = {"api": "api-guide"}
ORDER = ("api-guide", "request-flows", "chat", "widget", "webhooks", "billing", "analytics")
IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EXPLICIT_ID = re.compile(r"\s*\{#([A-Za-z0-9][A-Za-z0-9_-]*)\}\s*$")


def guides_dir() -> Path | None:
    for candidate in (PACKAGE_GUIDES, REPOSITORY_GUIDES):
        if candidate.is_dir() and any(candidate.glob("*.md")):
            return candidate
    return None


def slug_of(stem: str) -> str:
    return SLUGS.get(stem, stem.lower().replace("_", "-"))


# ---- rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Rendered:
    title: str
    html: str
    headings: tuple[Heading, ...]


def heading_id(text: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    kept = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return kept.replace(" ", "-") or "section"


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


Rewrite = Callable[[str], str | None]


def _keep(url: str) -> str | None:
    return url


def _inline_text(token: Token) -> str:
    return "".join(
        child.content for child in token.children or () if child.type in ("text", "code_inline")
    )


def _take_explicit_id(inline: Token) -> str | None:
    children = inline.children or []
    if not children or children[-1].type != "text":
        return None
    match = EXPLICIT_ID.search(children[-1].content)
    if match is None:
        return None
    children[-1].content = children[-1].content[: match.start()]
    inline.content = EXPLICIT_ID.sub("", inline.content)
    return match.group(1)


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _join_wide_lines(children: list[Token]) -> None:
    """Drop a line break between two wide (CJK) characters: in Japanese it is not a space."""
    for index in range(1, len(children) - 1):
        child, before, after = children[index], children[index - 1], children[index + 1]
        if (
            child.type == "softbreak"
            and before.type == "text"
            and after.type == "text"
            and before.content
            and after.content
            and _wide(before.content[-1])
            and _wide(after.content[0])
        ):
            child.type, child.content = "text", ""


def _rewrite_links(children: list[Token], link: Rewrite, image: Rewrite) -> list[Token]:
    kept: list[Token] = []
    dropping = 0
    for child in children:
        if child.type == "link_open":
            target = link(str(child.attrGet("href") or ""))
            if target is None:
                dropping += 1
                continue
            child.attrSet("href", target)
        elif child.type == "link_close" and dropping:
            dropping -= 1
            continue
        elif child.type == "image":
            source = image(str(child.attrGet("src") or ""))
            if source is None:
                continue
            child.attrSet("src", source)
        kept.append(child)
    return kept


def render(text: str, *, link: Rewrite = _keep, image: Rewrite = _keep) -> Rendered:
    """HTML for Markdown `text`: escaped throughout, headings with ids, links rewritten."""
    md = _markdown()
    tokens = md.parse(text)
    headings: list[Heading] = []
    used: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type == "th_open":
            token.attrSet("scope", "col")
        elif token.type == "inline" and token.children is not None:
            token.children = _rewrite_links(token.children, link, image)
            _join_wide_lines(token.children)
        if token.type != "heading_open":
            continue
        inline = tokens[index + 1]
        explicit = _take_explicit_id(inline)
        label = _inline_text(inline).strip()
        base = explicit or heading_id(label)
        count = used.get(base, 0)
        used[base] = count + 1
        anchor = base if count == 0 else f"{base}-{count}"
        token.attrSet("id", anchor)
        headings.append(Heading(int(token.tag[1]), anchor, label))
    html = md.renderer.render(tokens, md.options, {})
    title = next((h.text for h in headings if h.level == 1), "")
    return Rendered(title=title, html=html, headings=tuple(headings))


def render_inline(text: str) -> str:
    """HTML for one line of Markdown (a response's description), escaped like `render`."""
    return str(_markdown().renderInline(text))


# ---- the library ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guide:
    slug: str
    file: str  # the English file's name inside the guides folder, e.g. "widget.md"
    translations: frozenset[str]  # languages with their own docs/<language>/<file>


@dataclass(frozen=True)
class Library:
    root: Path
    guides: dict[str, Guide]

    def ordered(self) -> list[Guide]:
        rank = {slug: i for i, slug in enumerate(ORDER)}
        return sorted(self.guides.values(), key=lambda g: (rank.get(g.slug, len(ORDER)), g.slug))

    def source(self, guide: Guide, language: str) -> tuple[str, bool]:
        """The guide's file for `language` (relative to the root) and whether it is translated."""
        if language in guide.translations:
            return f"{language}/{guide.file}", True
        return guide.file, False

    def render(self, guide: Guide, language: str, prefix: str) -> tuple[Rendered, bool]:
        relative, translated = self.source(guide, language)
        path = self.root / relative
        rendered = _render_file(str(path), path.stat().st_mtime_ns, relative, prefix, self._files())
        return rendered, translated

    def title(self, guide: Guide, language: str) -> str:
        relative, _ = self.source(guide, language)
        path = self.root / relative
        return _title_of(str(path), path.stat().st_mtime_ns) or guide.slug

    def image(self, name: str) -> tuple[Path, str] | None:
        suffix = Path(name).suffix.lower()
        if not IMAGE_NAME.match(name) or suffix not in IMAGE_SUFFIXES:
            return None
        path = self.root / "img" / name
        return (path, IMAGE_SUFFIXES[suffix]) if path.is_file() else None

    def _files(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((g.file, g.slug) for g in self.guides.values()))


def library() -> Library | None:
    root = guides_dir()
    if root is None:
        return None
    languages = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]
    guides = {}
    for path in sorted(root.glob("*.md")):
        translations = frozenset(code for code in languages if (root / code / path.name).is_file())
        guide = Guide(slug=slug_of(path.stem), file=path.name, translations=translations)
        guides[guide.slug] = guide
    return Library(root=root, guides=guides)


def site_link(href: str, source: str, prefix: str, files: Sequence[tuple[str, str]]) -> str | None:
    """Where a link in the guide file `source` (relative to the guides folder) goes on the site.

    Other guides go to their page in the reader's language (`prefix`), images in img/ to the
    image route; anything else inside the repository has no page, so the link is dropped.
    """
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return href
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(source), parts.path))
    if target == ".." or target.startswith("../") or target.startswith("/"):
        return None
    head, _, rest = target.partition("/")
    if rest and head in i18n.LANGUAGES:
        target = rest
    if target.startswith("img/") and "/" not in target[4:]:
        return f"/docs/{target}"
    slugs = dict(files)
    if target in slugs:
        return f"{prefix}/docs/{slugs[target]}{fragment}"
    return None


@lru_cache(maxsize=64)
def _render_file(
    path: str, mtime: int, source: str, prefix: str, files: tuple[tuple[str, str], ...]
) -> Rendered:
    text = Path(path).read_text(encoding="utf-8")
    return render(
        text,
        link=lambda href: site_link(href, source, prefix, files),
        image=lambda src: site_link(src, source, prefix, files),
    )


@lru_cache(maxsize=64)
def _title_of(path: str, mtime: int) -> str:
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return EXPLICIT_ID.sub("", line[2:]).strip()
    return ""
