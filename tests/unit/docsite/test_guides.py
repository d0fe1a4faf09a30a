"""The guides' Markdown renderer: nothing raw passes, headings get ids, links go to the site."""

from __future__ import annotations

from bob.docsite import guides

FILES = (("api.md", "api-guide"), ("chat.md", "chat"), ("widget.md", "widget"))


def test_raw_html_is_escaped_not_passed_through() -> None:
    text = (
        "# Title\n\n<script>alert('block')</script>\n\n"
        'Inline <img src=x onerror="alert(1)"> and <b>bold</b>.\n\n'
        "[click](javascript:alert(1)) ![x](data:text/html;base64,PHNjcmlwdD4=)\n"
    )
    html = guides.render(text).html

    assert "<script" not in html
    assert "&lt;script&gt;alert('block')&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html
    assert "<b>" not in html
    assert "javascript:" not in html.replace("[click](javascript:alert(1))", "")
    assert 'href="javascript' not in html


def test_headings_get_github_ids_or_the_id_a_translation_names() -> None:
    rendered = guides.render(
        "# The chat widget\n\n## Widget keys (permission `widget.manage`)\n\n"
        "## Install\n\n## Install\n\n## Origens permitidas {#allowed-origins}\n\n### 許可 {#x-1}\n"
    )

    assert [(h.level, h.id, h.text) for h in rendered.headings] == [
        (1, "the-chat-widget", "The chat widget"),
        (2, "widget-keys-permission-widgetmanage", "Widget keys (permission widget.manage)"),
        (2, "install", "Install"),
        (2, "install-1", "Install"),
        (2, "allowed-origins", "Origens permitidas"),
        (3, "x-1", "許可"),
    ]
    assert rendered.title == "The chat widget"
    assert '<h2 id="allowed-origins">Origens permitidas</h2>' in rendered.html
    assert "{#" not in rendered.html


def test_table_headers_have_a_scope() -> None:
    html = guides.render("| a | b |\n|---|---|\n| 1 | 2 |\n").html
    assert '<th scope="col">a</th>' in html


def test_links_between_guides_go_to_the_site_in_the_readers_language() -> None:
    def link(href: str, source: str = "widget.md", prefix: str = "/ja") -> str | None:
        return guides.site_link(href, source, prefix, FILES)

    assert link("chat.md#personas") == "/ja/docs/chat#personas"
    assert link("api.md") == "/ja/docs/api-guide"
    assert link("#install") == "#install"
    assert link("https://example.com/x.md") == "https://example.com/x.md"
    assert link("img/widget-mobile.png") == "/docs/img/widget-mobile.png"
    # A translation sits one folder down and links like a file there.
    assert link("../chat.md#personas", "ja/widget.md") == "/ja/docs/chat#personas"
    assert link("../img/widget-mobile.png", "ja/widget.md") == "/docs/img/widget-mobile.png"
    # Files that are not guides have no page: the link goes, its text stays.
    assert link("../bench/RESULTS.md") is None
    assert link("../../bench/RESULTS.md", "ja/webhooks.md") is None
    assert link("notes.md") is None

    html = guides.render(
        "See [the chat](chat.md#personas) and [results](../bench/RESULTS.md).",
        link=lambda href: guides.site_link(href, "widget.md", "/pt-BR", FILES),
    ).html
    assert '<a href="/pt-BR/docs/chat#personas">the chat</a>' in html
    assert "results" in html
    assert "RESULTS.md" not in html


def test_line_breaks_between_japanese_characters_are_not_spaces() -> None:
    html = guides.render("ページの\n隅に `code` と\nEnglish words\nhere").html
    assert "ページの隅に" in html
    assert "English words\nhere" in html
