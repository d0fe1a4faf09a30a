"""The pages' languages: catalogs keyed by the English text, negotiation, and number/date formats.

Catalogs are JSON files in `bob/locales/<language>/`, one per area of the pages, merged at load.
A text missing from a catalog shows in English; a unit test keeps every catalog complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import dates, numbers

LOCALES_DIR = Path(__file__).parent.parent / "locales"
DEFAULT = "en"
LANGUAGES: dict[str, str] = {"en": "English", "pt-BR": "Português (Brasil)", "ja": "日本語"}
LANG_COOKIE = "bob_lang"


@cache
def catalog(language: str) -> Mapping[str, str]:
    merged: dict[str, str] = {}
    folder = LOCALES_DIR / language
    if language != DEFAULT and folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def supported(value: str | None) -> str | None:
    """`value` spelled as one of LANGUAGES (case-insensitive), or None."""
    if not value:
        return None
    wanted = value.strip().lower()
    for code in LANGUAGES:
        if code.lower() == wanted:
            return code
    return None


def negotiate(accept_language: str | None) -> str:
    """The best of LANGUAGES for an Accept-Language header; `pt` and `pt-PT` get pt-BR."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        exact = supported(tag)
        if exact:
            return exact
        primary = tag.split("-")[0].lower()
        for code in LANGUAGES:
            if code.split("-")[0].lower() == primary:
                return code
    return DEFAULT


@dataclass(frozen=True)
class Translator:
    language: str

    @property
    def babel_locale(self) -> str:
        return self.language.replace("-", "_")

    def gettext(self, text: str, /, **values: Any) -> str:
        translated = catalog(self.language).get(text, text)
        return translated.format(**values) if values else translated

    def number(self, value: float | int) -> str:
        return numbers.format_decimal(value, locale=self.babel_locale)

    def percent(self, share: float) -> str:
        return numbers.format_percent(share, locale=self.babel_locale)

    def money(self, amount: float | int, currency: str = "USD") -> str:
        return numbers.format_currency(amount, currency, locale=self.babel_locale)

    def when(self, value: datetime | None, format: str = "medium") -> str:
        if value is None:
            return ""
        return dates.format_datetime(value, format, locale=self.babel_locale)

    def day(self, value: datetime | None, format: str = "medium") -> str:
        if value is None:
            return ""
        return dates.format_date(value, format, locale=self.babel_locale)
