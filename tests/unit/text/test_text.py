from __future__ import annotations

import threading

import pytest

from bob.text.search import (
    Term,
    coverage,
    detect_language,
    guess_language,
    index_tokens,
    normalise,
    passage_languages,
    query_terms,
    question_terms,
    search_text,
    stored_tokens,
)


def matches(question: str, passage: str, language: str = "en") -> float:
    return coverage(question_terms(question, language), index_tokens(passage, language))


def test_normalise_folds_case_width_and_accents() -> None:
    assert (
        normalise("Horários DEVOLUÇÃO \uff22\uff4f\uff42 Straße Łódź")
        == "horarios devolucao bob strasse lodz"
    )


def test_normalise_keeps_kana_voicing_and_hangul() -> None:
    assert normalise("ガイド 영업") == "ガイド 영업"
    assert normalise("ｶﾞｲﾄﾞ") == "ガイド"  # half-width katakana becomes the full-width form


@pytest.mark.parametrize(
    ("language", "a", "b"),
    [
        ("en", "hours", "hour"),
        ("en", "opening", "open"),
        ("en", "opened", "opens"),
        ("en", "shipping", "ship"),
        ("en", "shipped", "ships"),
        ("en", "returns", "return"),
        ("en", "deliveries", "delivery"),
        ("en", "pricing", "prices"),
        ("en", "cancellations", "cancelled"),
        ("pt", "horários", "horario"),
        ("pt", "devoluções", "devolução"),
        ("pt", "devolucoes", "devolução"),  # typed without accents
        ("pt", "entregamos", "entregas"),
        ("es", "devoluciones", "devolución"),
        ("es", "envíos", "envio"),
        ("de", "Öffnungszeiten", "öffnungszeit"),
        ("de", "Rücksendungen", "Rücksendung"),
        ("it", "orari", "orario"),
        ("nl", "openingstijden", "openingstijd"),
        ("fr", "livraisons", "livraison"),
        ("pl", "sklepu", "sklep"),
    ],
)
def test_word_forms_meet_at_their_languages_stem(language: str, a: str, b: str) -> None:
    assert index_tokens(a, language) == index_tokens(b, language)
    assert len(index_tokens(a, language)) == 1


def test_different_words_stay_apart() -> None:
    assert index_tokens("ship", "en") != index_tokens("shop", "en")
    assert index_tokens("hour", "en") != index_tokens("house", "en")
    assert index_tokens("implants", "en") != index_tokens("x-rays", "en")


@pytest.mark.parametrize(
    ("question", "language", "terms"),
    [
        ("What are your opening hours?", "en", ["open", "hour"]),
        ("Do you ship to Canada?", "en", ["ship", "canada"]),
        ("Do you ship to the US in May?", "en", ["ship", "us", "may"]),
        ("Do you ship abroad to other countries?", "en", ["ship", "abroad", "countri"]),
        ("How much does it cost?", "en", ["cost"]),
        ("How long does shipping take?", "en", ["ship"]),  # a measure, not a topic
        ("Is the jacket long?", "en", ["jacket", "long"]),
        ("Quanto tempo demora a entrega?", "pt", ["demor", "entreg"]),
        ("Quais são os horários de funcionamento?", "pt", ["horari", "funcion"]),
        ("qual o CNPJ da loja?", "pt", ["cnpj", "loj"]),
        ("vc tb entrega pra fora? q horas vcs abrem hj", "pt", ["entreg", "for", "hor", "abrem"]),
        ("Quanto custa o frete?", "pt", ["cust", "fret"]),  # the price word stays
        ("¿Cuáles son los horarios de apertura?", "es", ["horari", "apertur"]),
        ("q precio tiene el envío x favor", "es", ["preci", "envi", "favor"]),
        ("¿Cuánto cuesta el envío?", "es", ["cuest", "envi"]),
        ("Wann sind Ihre Öffnungszeiten?", "de", ["offnungszeit"]),
        ("Quels sont vos horaires d'ouverture ?", "fr", ["horair", "ouvertur"]),
        ("Wat zijn de openingstijden?", "nl", ["openingstijd"]),
        ("Czy jest parking?", "pl", ["parking"]),
    ],
)
def test_question_words_articles_and_auxiliaries_are_not_terms(
    question: str, language: str, terms: list[str]
) -> None:
    assert query_terms(question, language) == terms


def test_a_stopword_of_one_language_is_a_word_in_another() -> None:
    # "pro" is Portuguese slang for "para o", but English for a professional.
    assert query_terms("Is there a pro plan?", "en") == ["pro", "plan"]
    assert query_terms("Is there a pro plan?", "pt") == ["is", "ther", "plan"]
    # A question's own function words are dropped whatever the passages' language.
    assert [t.key for t in question_terms("tem wifi pra hospedes?", "en")] == [
        "tem",
        "wifi",
        "pra",
        "hosped",
    ]
    assert [
        t.key for t in question_terms("tem wifi pra hospedes?", "en", question_language="pt")
    ] == ["wifi", "hosped"]


@pytest.mark.parametrize(
    ("question", "right", "wrong"),
    [
        (
            "When is check-in?",
            "Check-in is from 15:00 at the front desk.",
            "Check-out is at 11:00; late check out costs extra.",
        ),
        ("Do you take CareCredit?", "We accept Care Credit financing.", "We accept credit cards."),
        ("Is Care Credit possible?", "CareCredit is accepted.", "Card payments only."),
        ("Are x-rays included?", "Xrays are included in the first visit.", "Rays of light."),
        ("Do you send the invoice by e-mail?", "We send every invoice by email.", "Mail us."),
        ("Is there Wi-Fi?", "Free wifi in every room.", "Free parking for every room."),
        ("Is there wifi?", "Free Wi-Fi in every room.", "Free parking for every room."),
    ],
)
def test_compounds_match_whole_and_split(question: str, right: str, wrong: str) -> None:
    assert matches(question, right) == 1.0
    assert matches(question, wrong) < 0.5


def test_a_compound_keeps_its_parts_in_the_index() -> None:
    assert index_tokens("Check-in", "en") == ["checkin", "check"]  # "in" is a stopword
    assert index_tokens("CareCredit", "en") == ["carecredit", "care", "credit"]
    assert index_tokens("FAQs and PDFs", "en") == ["faq", "pdfs"]  # plural acronyms stay whole
    assert question_terms("check-in", "en") == [Term((("checkin",),))]
    # Japanese compounds are asked for by their parts, each a word of its own.
    assert [t.key for t in question_terms("喫煙スペース", "ja")] == ["喫煙", "スペース"]
    assert [t.key for t in question_terms("喫煙所", "ja")] == ["喫煙"]
    assert question_terms("CareCredit", "en") == [Term((("carecredit",), ("care", "credit")))]


def test_a_question_in_another_language_also_meets_passages_through_its_own_stemmer() -> None:
    # The Spanish stemmer leaves "implants" as it is; the English one meets "implantes".
    [dental, implants] = question_terms("Do you do dental implants?", "es", question_language="en")
    assert implants == Term((("implants",), ("implant",)))
    assert implants.found_in(index_tokens("Implantes dentales", "es"))
    assert dental.key == "dental"


def test_japanese_words_come_from_the_dictionary_not_the_script() -> None:
    assert index_tokens("喫煙スペースはありますか", "ja") == ["喫煙スペース", "喫煙", "スペース"]
    assert index_tokens("タバコ吸えますか", "ja") == ["タバコ", "吸う"]
    # Hiragana content words stay, particles and auxiliaries go by part of speech.
    assert index_tokens("こどもは泊まれますか", "ja") == ["子供", "泊まる"]
    assert query_terms("営業時間は何時ですか\uff1f", "ja") == ["営業", "時間"]
    assert query_terms("送料はいくらですか\uff1f", "ja") == ["送料"]
    assert "から" not in index_tokens("月曜日から金曜日まで", "ja")


@pytest.mark.parametrize(
    ("question", "right", "wrong"),
    [
        (
            "喫煙スペースはありますか",
            "館内は禁煙です。喫煙スペースは1階の玄関横にございます。",
            "会議スペースは予約制です。",
        ),
        (
            "タバコ吸えますか",
            "タバコは1階の喫煙所で吸えます。",
            "お部屋でのお食事はご遠慮ください。",
        ),
        ("お風呂に入れますか", "お風呂には24時間入ることができます。", "お風呂の掃除は毎朝です。"),
        (
            "ペットは泊まれますか",
            "ペットと一緒に泊まることができます。",
            "ペット用品を販売しています。",
        ),
        (
            "クレジットカードは使えますか",
            "クレジットカードがご利用いただけます。全てのカードが使えます。",
            "カードの番号は保存しません。",
        ),
    ],
)
def test_japanese_questions_meet_their_passages(question: str, right: str, wrong: str) -> None:
    assert matches(question, right, "ja") == 1.0
    assert matches(question, wrong, "ja") <= 0.5


def test_a_one_kanji_verb_stands_for_its_potential_form_too() -> None:
    # 入れますか asks "can I enter" (入る) as often as "can I put in" (入れる).
    [_, verb] = question_terms("お風呂に入れますか", "ja")
    assert verb == Term((("入れる",), ("入る",)))
    assert matches("犬を入れてもいいですか", "犬は入れられません。", "ja") == 1.0


def test_katakana_loanwords_stay_whole() -> None:
    assert "スペース" in index_tokens("スペース", "ja")
    assert index_tokens("iPhone用ケース", "ja") == ["iphon", "phone", "用", "ケース"]


def test_chinese_and_korean_fall_back_to_bigrams_within_a_run() -> None:
    assert index_tokens("営業時間", "zh") == ["営業", "業時", "時間"]
    assert index_tokens("店", "zh") == ["店"]  # a single character stays a unigram
    assert index_tokens("영업시간", "ko") == ["영업", "업시", "시간"]
    assert matches("营业时间是几点", "营业时间 上午九点到下午六点", "zh") >= 0.5


def test_query_terms_are_unique_in_first_seen_order() -> None:
    assert query_terms("Shipping, ship, shipped: returns and shipping", "en") == ["ship", "return"]


def test_index_tokens_keep_repeats_and_drop_noise() -> None:
    assert index_tokens("Return returns RETURNED!", "en") == ["return"] * 3
    assert index_tokens("the a an of — ... !!", "en") == []
    assert index_tokens("x" * 65, "en") == []
    assert index_tokens("24h 9 2025", "en") == ["24h", "9", "2025"]


def test_search_text_includes_the_title() -> None:
    assert search_text("Opening hours", "We open at 9.", "en") == "open hour | open 9"
    assert stored_tokens("open hour | open 9") == (["open", "hour"], ["open", "9"])
    assert stored_tokens("open hour open 9") == ([], ["open", "hour", "open", "9"])


def test_coverage_is_the_weighted_share_of_distinct_terms_present() -> None:
    assert coverage(["open", "hour"], ["open", "hour", "monday"]) == 1.0
    assert coverage(["open", "hour"], ["open", "open"]) == 0.5
    assert coverage(["open", "hour"], []) == 0.0
    assert coverage([], ["open"]) == 0.0
    assert coverage(["open", "open"], ["open"]) == 1.0
    assert coverage(["dental", "implant"], ["dental"], {"dental": 0.1, "implant": 3.9}) == 0.025


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
        ("vc sabe se tem estacionamento aki?", "pt"),
        ("営業時間は?", "ja"),
        ("hours?", None),  # too little to tell: the browser's preference decides
    ],
)
def test_guess_language(message: str, language: str | None) -> None:
    assert guess_language(message) == language


@pytest.mark.parametrize(
    ("passage", "language"),
    [
        ("Our dental clinic offers cleaning, whitening and x-rays for the whole family.", "en"),
        ("Der Versand dauert zwei bis drei Werktage und ist kostenlos.", "de"),
        ("館内は全面禁煙です", "ja"),
        ("營業時間為上午九點至下午六點", "zh"),
        ("영업시간은 오전 9시부터입니다", "ko"),
        ("Доставка по всей России занимает три дня", "ru"),
        ("CNPJ: 12.345.678/0001-90", None),
    ],
)
def test_detect_language_of_a_passage(passage: str, language: str | None) -> None:
    assert detect_language(passage, fallback=None) == language


def test_an_unclear_passage_takes_its_items_language() -> None:
    content = "Nossa loja fica no centro e tem estacionamento para os clientes.\n\nCNPJ 12.345"
    assert passage_languages("Sobre nós", ["CNPJ 12.345", "Wi-Fi"], content) == ["pt", "pt"]
    assert passage_languages("CNPJ", ["12.345"], "12.345") == ["en"]


def test_tokenising_is_safe_from_several_threads() -> None:
    expected = index_tokens("大浴場には24時間入ることができます。Opening hours", "ja")
    results: list[list[str]] = []

    def work() -> None:
        for _ in range(50):
            results.append(index_tokens("大浴場には24時間入ることができます。Opening hours", "ja"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 200
