from __future__ import annotations

import pytest

from bob.knowledge.text import coverage, index_tokens, normalise, query_terms, search_text


def matches(question: str, passage: str) -> float:
    return coverage(query_terms(question), index_tokens(passage))


def test_normalise_folds_case_width_and_accents() -> None:
    assert (
        normalise("Horários DEVOLUÇÃO \uff22\uff4f\uff42 Straße Łódź")
        == "horarios devolucao bob strasse lodz"
    )


def test_normalise_keeps_kana_voicing_and_hangul() -> None:
    assert normalise("ガイド 영업") == "ガイド 영업"
    assert normalise("ｶﾞｲﾄﾞ") == "ガイド"  # half-width katakana becomes the full-width form


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("hours", "hour"),
        ("opening", "open"),
        ("opened", "opens"),
        ("shipping", "ship"),
        ("shipped", "ships"),
        ("returns", "return"),
        ("deliveries", "delivery"),
        ("pricing", "prices"),
        ("horários", "horario"),
        ("devoluções", "devolução"),
        ("devoluciones", "devolución"),
        ("Öffnungszeiten", "öffnungszeit"),
        ("Rücksendungen", "Rücksendung"),
        ("orari", "orario"),
        ("openingstijden", "openingstijd"),
    ],
)
def test_word_forms_meet_at_one_stem(a: str, b: str) -> None:
    assert index_tokens(a) == index_tokens(b)
    assert len(index_tokens(a)) == 1


def test_different_words_stay_apart() -> None:
    assert index_tokens("ship") != index_tokens("shop")
    assert index_tokens("hour") != index_tokens("house")


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("What are your opening hours?", ["open", "hour"]),
        ("Do you ship to Canada?", ["ship", "canad"]),
        ("Do you ship to the US in May?", ["ship", "us", "may"]),
        ("Quais são os horários de funcionamento?", ["horar", "funcionament"]),
        ("¿Cuáles son los horarios de apertura?", ["horar", "apertur"]),
        ("Wann sind Ihre Öffnungszeiten?", ["offnungszeit"]),
        ("Quels sont vos horaires d'ouverture ?", ["horair", "ouvertur"]),
        ("Wat zijn de openingstijden?", ["openingstijd"]),
        ("Czy jest parking?", ["park"]),
    ],
)
def test_question_words_articles_and_auxiliaries_are_not_terms(
    question: str, terms: list[str]
) -> None:
    assert query_terms(question) == terms


def test_cjk_runs_become_overlapping_bigrams() -> None:
    assert index_tokens("営業時間") == ["営業", "業時", "時間"]
    assert index_tokens("店") == ["店"]  # a single character stays a unigram
    assert index_tokens("영업시간") == ["영업", "업시", "시간"]


def test_japanese_particles_and_endings_are_dropped() -> None:
    # は, ですか and から are hiragana only; 何時 ("what time") is a question word.
    assert query_terms("営業時間は何時ですか") == ["営業", "業時", "時間"]
    assert query_terms("送料はいくらですか\uff1f") == ["送料"]
    assert "から" not in index_tokens("月曜日から金曜日まで")


def test_mixed_scripts_split_into_their_parts() -> None:
    assert index_tokens("iPhone用ケース") == ["iphon", "用ケ", "ケー", "ース"]
    assert index_tokens("東京へ行く") == ["東京", "行"]


def test_query_terms_are_unique_in_first_seen_order() -> None:
    assert query_terms("Shipping, ship, shipped: returns and shipping") == ["ship", "return"]


def test_index_tokens_keep_repeats_and_drop_noise() -> None:
    assert index_tokens("Return returns RETURNED!") == ["return"] * 3
    assert index_tokens("the a an of — ... !!") == []
    assert index_tokens("x" * 65) == []
    assert index_tokens("24h 9 2025") == ["24h", "9", "2025"]


def test_search_text_includes_the_title() -> None:
    assert search_text("Opening hours", "We open at 9.") == "open hour open 9"


def test_coverage_is_the_share_of_distinct_terms_present() -> None:
    assert coverage(["open", "hour"], ["open", "hour", "monday"]) == 1.0
    assert coverage(["open", "hour"], ["open", "open"]) == 0.5
    assert coverage(["open", "hour"], []) == 0.0
    assert coverage([], ["open"]) == 0.0
    assert coverage(["open", "open"], ["open"]) == 1.0


@pytest.mark.parametrize(
    ("question", "right", "wrong"),
    [
        (
            "What are your opening hours on Saturday?",
            "Opening hours: Monday to Saturday we are open from 9:00 to 18:00.",
            "Returns are free within 30 days of delivery.",
        ),
        (
            "Quais são os horários de funcionamento?",
            "Horário de funcionamento: segunda a sexta, das 9h às 18h.",
            "Devoluções gratuitas em até 30 dias após a entrega.",
        ),
        (
            "¿Cuánto cuesta el envío a Madrid?",
            "El envío a Madrid cuesta 5 euros.",
            "Nuestro horario es de lunes a viernes.",
        ),
        (
            "Wie lange dauert der Versand?",
            "Der Versand dauert zwei bis drei Werktage.",
            "Rücksendungen sind 30 Tage lang kostenlos.",
        ),
        (
            "営業時間は何時ですか\uff1f",
            "営業時間は月曜日から金曜日の9時から18時までです。",
            "返品は商品到着後30日以内に受け付けます。",
        ),
    ],
)
def test_the_right_passage_covers_more_of_the_question(
    question: str, right: str, wrong: str
) -> None:
    assert matches(question, right) >= 0.5
    assert matches(question, wrong) < 0.5


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("Quais são os horários da loja?", "pt"),
        ("What are the opening hours of the shop?", "en"),
        ("¿Cuál es el horario de la tienda?", "es"),
        ("Quels sont les horaires du magasin?", "fr"),
        ("Quali sono gli orari del negozio?", "it"),
        ("Wat zijn de openingstijden van de winkel?", "nl"),
        ("Wie sind die Öffnungszeiten des Ladens?", "de"),
        ("Jakie są godziny otwarcia sklepu?", "pl"),
        ("Qual é o horário de atendimento da loja?", "pt"),
        ("営業時間は?", "ja"),
        ("hours?", None),  # too little to tell: the browser's preference decides
    ],
)
def test_guess_language(message: str, language: str | None) -> None:
    from bob.knowledge.text import guess_language

    assert guess_language(message) == language
