"""Every text the pages show is translated in every language, with the same placeholders."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest

from bob.events import catalogue
from bob.web import i18n

SRC = Path(i18n.__file__).parent.parent
# _("…") and _('…') in templates; page.t("…"), t("…"), _("…") and N_("…") in Python.
TEMPLATE_CALL = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
PYTHON_NAMES = {"_", "N_", "t"}
PYTHON_METHODS = {"t", "gettext"}


def python_texts(source: str) -> list[str]:
    """First string arguments of _(), N_(), t(), .t() and .gettext() calls (joined literals too)."""
    texts = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        named = (isinstance(func, ast.Name) and func.id in PYTHON_NAMES) or (
            isinstance(func, ast.Attribute) and func.attr in PYTHON_METHODS
        )
        first = node.args[0]
        if named and isinstance(first, ast.Constant) and isinstance(first.value, str):
            texts.append(first.value)
    return texts


def used_texts() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((SRC / "templates").rglob("*.html")):
        for match in TEMPLATE_CALL.finditer(path.read_text(encoding="utf-8")):
            text = match.group(1) if match.group(1) is not None else match.group(2)
            found.setdefault(text, str(path.relative_to(SRC)))
    pages = [
        p for folder in ("web", "portal", "admin", "docsite") for p in (SRC / folder).rglob("*.py")
    ]
    for path in sorted([*pages, *SRC.glob("*/pages.py")]):
        for text in python_texts(path.read_text(encoding="utf-8")):
            found.setdefault(text, str(path))
    # The webhook catalogue's descriptions are shown, translated, on the portal's events page.
    for event in catalogue.CATALOGUE.values():
        found.setdefault(event.description, "bob/events/catalogue.py")
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_scan_finds_the_pages_texts() -> None:
    texts = used_texts()
    assert "Log in" in texts  # a template
    assert "Dashboard" in texts  # a navigation label
    assert "Wrong email or password." in texts  # Python
    assert any(text.endswith("platform admins use Mission Control.") for text in texts)


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != i18n.DEFAULT])
def test_every_text_is_translated(language: str) -> None:
    catalog = i18n.catalog(language)
    missing = sorted(text for text in used_texts() if text not in catalog)
    assert not missing, f"{language}: {len(missing)} untranslated texts:\n" + json.dumps(
        dict.fromkeys(missing, ""), ensure_ascii=False, indent=2
    )


@pytest.mark.parametrize("language", [code for code in i18n.LANGUAGES if code != i18n.DEFAULT])
def test_translations_keep_their_placeholders(language: str) -> None:
    wrong = {
        text: translated
        for text, translated in i18n.catalog(language).items()
        if placeholders(text) != placeholders(translated)
    }
    assert not wrong, f"{language}: placeholders differ: {wrong}"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("ja", "ja"),
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("pt-BR,pt;q=0.9", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("de-DE,de;q=0.9", "en"),
        ("de;q=1.0, ja;q=0.5, pt;q=0.8", "pt-BR"),
        ("en;q=0, ja;q=0.1", "ja"),
        ("ja;q=abc, pt-br", "pt-BR"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_numbers_and_dates_follow_the_language() -> None:
    assert i18n.Translator("en").number(15000) == "15,000"
    assert i18n.Translator("pt-BR").number(15000) == "15.000"
    assert i18n.Translator("pt-BR").money(79, "USD") == "US$\xa079,00"
    assert i18n.Translator("ja").gettext("Log in") != "Log in"
    assert i18n.Translator("en").gettext("Hello {name}", name="Ana") == "Hello Ana"
