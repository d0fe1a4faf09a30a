from __future__ import annotations

import pytest

from bob.engines.base import PersonaView
from bob.engines.phrases import (
    SUPPORTED_LANGUAGES,
    answer_intro,
    engine_failure_message,
    handoff_message,
    language_of,
    no_answer_message,
    register_of,
)

SENTENCES_WITH_NAME = [handoff_message, no_answer_message, engine_failure_message]
ALL_SENTENCES = [*SENTENCES_WITH_NAME, answer_intro]
FRIENDLY = PersonaView(name="Zephyrine", tone="warm, playful")
FORMAL = PersonaView(name="Zephyrine", tone="Formal and precise")


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("persona", [FRIENDLY, FORMAL], ids=["friendly", "formal"])
def test_every_language_has_every_sentence_with_the_persona_name(
    language: str, persona: PersonaView
) -> None:
    for sentence in ALL_SENTENCES:
        text = sentence(persona, language)
        assert text.strip()
        assert "{" not in text
    for sentence in SENTENCES_WITH_NAME:
        assert "Zephyrine" in sentence(persona, language)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_formal_and_friendly_differ(language: str) -> None:
    for sentence in ALL_SENTENCES:
        assert sentence(FORMAL, language) != sentence(FRIENDLY, language)


def test_languages_are_really_translated() -> None:
    for sentence in ALL_SENTENCES:
        for register in (FORMAL, FRIENDLY):
            texts = [sentence(register, language) for language in SUPPORTED_LANGUAGES]
            assert len(set(texts)) == len(SUPPORTED_LANGUAGES)


def test_sentences_in_a_few_languages() -> None:
    assert handoff_message(FRIENDLY, "en").startswith("Sure! I'm Zephyrine")
    assert "Sie" in handoff_message(FORMAL, "de")
    assert " du " in handoff_message(FRIENDLY, "de")
    assert "usted" not in no_answer_message(FORMAL, "es")
    assert " le " in no_answer_message(FORMAL, "es")
    assert " te " in handoff_message(FRIENDLY, "es").lower() or "Te " in handoff_message(
        FRIENDLY, "es"
    )
    assert "いたします" in handoff_message(FORMAL, "ja")
    assert answer_intro(FRIENDLY, "en") == "Here's what I found:"


@pytest.mark.parametrize(
    ("tone", "register"),
    [
        ("formal", "formal"),
        ("Professional, concise", "formal"),
        ("förmlich", "formal"),
        ("professionnel", "formal"),
        ("丁寧な敬語で", "formal"),
        ("informal", "friendly"),
        ("informell und locker", "friendly"),
        ("nieformalny", "friendly"),
        ("friendly", "friendly"),
        ("", "friendly"),
    ],
)
def test_register_follows_the_tone(tone: str, register: str) -> None:
    assert register_of(PersonaView(name="Ava", tone=tone)) == register


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("pt-BR", "pt"),
        ("pt", "pt"),
        ("ja-JP", "ja"),
        ("EN", "en"),
        ("en-GB", "en"),
        ("de_AT", "de"),
        (" fr-CA ", "fr"),
        ("zh-CN", "en"),
        ("", "en"),
        (None, "en"),
        ("x", "en"),
    ],
)
def test_language_of(tag: str | None, language: str) -> None:
    assert language_of(tag) == language


def test_unknown_language_falls_back_to_english() -> None:
    assert handoff_message(FRIENDLY, "zh") == handoff_message(FRIENDLY, "en")
    assert handoff_message(FRIENDLY, "pt-BR") == handoff_message(FRIENDLY, "pt")


def test_a_persona_without_a_name_still_reads_well() -> None:
    assert "I'm ," not in handoff_message(PersonaView(name="  "), "en")
