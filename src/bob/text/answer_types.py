"""What kind of fact a question asks for, and whether a text holds one.

"How much is a tooth extraction?" is answered only by a text with a price in it, "What time does
the pub close?" only by one with a time. A passage that talks about extractions but names no
price is a loose match, however close in meaning: the grounding decision counts that against
it, and the excerpt prefers the sentences, list items and table rows that hold the asked fact.

The question patterns cover the widget's main languages (en, pt-BR, es, ja), formal and
informal ("qto", "q hora"); the fact patterns are the ways prices, clock times, durations and
contact details are written in them. A question that asks none of these asks nothing here.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["price", "time", "duration", "contact"]

_ASKS: dict[AnswerType, re.Pattern[str]] = {
    "price": re.compile(
        r"\b(how much|price|prices|pricing|cost|costs|fee|fees|rate|rates|"
        r"quanto (custa|é|e|sai|fica|cobra|cobram)|qto|qnto|preço|preços|valor|valores|custa|"
        r"cuánto (cuesta|vale|sale|cobran)|cuanto (cuesta|vale|sale|cobran)|precio|precios|"
        r"cuesta|costo|costos|tarifa|tarifas)\b|いくら|料金|値段|価格|費用|代金",
        re.IGNORECASE,
    ),
    "time": re.compile(
        r"\b(what time|when do you (open|close)|opening hours|"
        r"que horas|q horas|qual (o )?horário|"
        r"a qu[eé] hora|q hora|qu[eé] horario)\b|何時",
        re.IGNORECASE,
    ),
    "duration": re.compile(
        r"\b(how long|how many (days|weeks|hours|minutes)|"
        r"quanto tempo|qnt tempo|quantos dias|quantas (horas|semanas)|"
        r"cu[aá]nto tiempo|cu[aá]nto tarda|cu[aá]ntos d[ií]as)\b|"
        r"どのくらい|どれくらい|何日|何分|何時間",
        re.IGNORECASE,
    ),
    "contact": re.compile(
        r"\b(phone|telephone|call you|whatsapp|whats|e-?mail address|"
        r"telefone|fone|contato|tel[eé]fono|contacto|correo)\b|電話|連絡先|メール",
        re.IGNORECASE,
    ),
}

_HOLDS: dict[AnswerType, re.Pattern[str]] = {
    "price": re.compile(
        r"[€$£¥₩]|R\$|円|"
        r"\b(?:euros?|reais|pesos|dollars?|pounds?|usd|eur|gbp|brl|mxn|yen)\b|"
        r"\b(?:free|no charge|grátis|gratuit[oa]s?|gratis|sem custo|sin costo|sin cargo)\b|無料",
        re.IGNORECASE,
    ),
    "time": re.compile(
        r"\b\d{1,2}(?:[:.h]\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.|h|hrs)\b|\b\d{1,2}:\d{2}\b|"
        r"\b(?:noon|midnight|meio-dia|meia-noite|mediod[ií]a|medianoche)\b|\d{1,2}時",
        re.IGNORECASE,
    ),
    "duration": re.compile(
        r"(?:\d+|\b(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|"
        r"um|uma|dois|duas|três|quatro|cinco|un|una|dos|tres|cuatro|cinco|unos|unas))"
        r"\s*(?:business |working |h[aá]biles |[uú]teis )?"
        r"(?:minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?|"
        r"minutos?|horas?|dias?|d[ií]as?|noches?|noites?|semanas?|mes(?:es)?|anos?|años?)\b|"
        r"\d+\s*(?:分|時間|日|泊|週間|か月|ヶ月|カ月|年)|[一二三四五六七八九十数]+(?:分|時間|日|泊|週間|か月|ヶ月|年)",
        re.IGNORECASE,
    ),
    "contact": re.compile(
        r"\+?\d[\d ()./-]{6,}\d|[\w.+-]+@[\w-]+\.[\w.-]+|\bwa\.me/",
        re.IGNORECASE,
    ),
}


def asked(question: str) -> frozenset[AnswerType]:
    """The kinds of fact `question` asks for (often none)."""
    return frozenset(kind for kind, pattern in _ASKS.items() if pattern.search(question))


def holds(text: str, kind: AnswerType) -> bool:
    """Whether `text` states a fact of this kind."""
    return _HOLDS[kind].search(text) is not None


def missing(question: str, text: str) -> bool:
    """Whether the question asks for a kind of fact that `text` does not state."""
    return any(not holds(text, kind) for kind in asked(question))
