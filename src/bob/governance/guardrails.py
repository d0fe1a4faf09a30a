"""Input and output checks, and recognising a visitor who asks for a person."""

from __future__ import annotations

import re
import unicodedata

from bob.errors import ValidationFailed

MAX_MESSAGE_CHARS = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_input(message: str) -> str:
    text = _CONTROL.sub("", message).strip()
    if not text:
        raise ValidationFailed("message: must not be empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(
            f"message: must be at most {MAX_MESSAGE_CHARS} characters (got {len(text)})"
        )
    return text


def check_output(text: str) -> str | None:
    """The reply as it may be shown, or None when nothing usable is left."""
    cleaned = _CONTROL.sub("", text).strip()
    if not cleaned:
        return None
    return cleaned[: MAX_MESSAGE_CHARS * 2]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Phrases that ask for a person, per language, matched on lowercased, accent-folded text.
# Asking *about* people ("do you sell human hair?") must not trigger, so the patterns want a
# verb of talking or a word that only means staff.
_ASK_FOR_HUMAN = [
    # English
    r"\b(talk|speak|chat)\b.{0,25}\b(human|person|someone|somebody|agent|"
    r"representative|operator|staff|employee|real)\b",
    r"\b(connect|transfer|put) me\b.{0,20}\b(human|person|agent|representative|operator|"
    r"someone|somebody|staff)\b",
    r"\b(real|live|actual) (person|human|agent)\b",
    r"^\W*(human|agent|operator|representative|person)\W*(please)?\W*$",
    # Portuguese
    r"\b(falar|conversar|atendimento)\b.{0,25}\b(humano|pessoa|alguem|atendente|"
    r"funcionario|agente)\b",
    r"\b(atendente|atendimento humano|pessoa real)\b",
    # Spanish
    r"\b(hablar|conversar|comunicarme)\b.{0,25}\b(humano|persona|alguien|agente|"
    r"representante|operador)\b",
    r"\b(persona real|agente humano)\b",
    # French
    r"\b(parler|discuter)\b.{0,25}\b(humain|personne|quelqu'?un|conseiller|agent|operateur)\b",
    r"\b(vrai humain|vraie personne|conseiller humain)\b",
    # German
    r"\b(sprechen|reden|verbinden)\b.{0,30}\b(mensch|menschen|person|mitarbeiter|"
    r"mitarbeiterin|berater|jemandem)\b",
    r"\b(mit (einem|einer) (menschen|mitarbeiter|mitarbeiterin|person))\b",
    # Italian
    r"\b(parlare|parlo)\b.{0,25}\b(umano|persona|qualcuno|operatore|operatrice|agente)\b",
    r"\b(persona reale|operatore umano)\b",
    # Dutch
    r"\b(spreken|praten)\b.{0,25}\b(mens|persoon|iemand|medewerker|medewerkster)\b",
    r"\b(echt persoon|echte medewerker)\b",
    r"\bmet (een|iemand)\b.{0,25}\b(spreken|praten)\b",
    # Polish
    r"\b(rozmawiac|porozmawiac|polaczyc|mowic)\b.{0,25}\b(czlowiek\w*|osob\w*|kims|"
    r"konsultant\w*|pracownik\w*)\b",
    r"\b(z konsultantem|z czlowiekiem|z pracownikiem)\b",
]
_ASK_FOR_HUMAN_JA = [
    "人間",
    "担当者",
    "オペレーター",
    "スタッフと",
    "人と話",
    "有人",
    "係の人",
    "店員",
]
_PATTERNS = [re.compile(p) for p in _ASK_FOR_HUMAN]


def asks_for_a_person(message: str) -> bool:
    if any(word in message for word in _ASK_FOR_HUMAN_JA):
        return True
    folded = _fold(message)
    # Polish "ł" has no decomposition; fold it by hand so "człowiek" matches "czlowiek".
    folded = folded.replace("ł", "l")
    return any(p.search(folded) for p in _PATTERNS)
