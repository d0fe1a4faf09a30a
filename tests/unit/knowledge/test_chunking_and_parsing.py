from __future__ import annotations

import json

import pytest

from bob.errors import ValidationFailed
from bob.knowledge.service import (
    CHUNK_CHARS,
    MAX_IMPORT_BYTES,
    check_source_url,
    check_tags,
    chunk_text,
    parse_import,
)


def test_short_content_is_one_passage() -> None:
    assert chunk_text("We open at 9.\n\nWe close at 6.") == ["We open at 9.\n\nWe close at 6."]


def test_paragraphs_are_packed_up_to_the_limit() -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 60 for n in range(10)]
    chunks = chunk_text("\n\n".join(paragraphs))
    assert len(chunks) > 1
    assert all(len(c) <= CHUNK_CHARS for c in chunks)
    # No paragraph is cut when each fits on its own.
    assert sum(c.count("Paragraph") for c in chunks) == 10
    assert all(c.startswith("Paragraph") for c in chunks)


def test_long_paragraphs_split_at_sentences_then_words() -> None:
    sentences = " ".join(f"Sentence number {n} is here." for n in range(100))
    chunks = chunk_text(sentences)
    assert all(len(c) <= CHUNK_CHARS for c in chunks)
    assert all(c.startswith("Sentence") and c.endswith(".") for c in chunks)
    unbroken = chunk_text("word " * 500)
    assert all(len(c) <= CHUNK_CHARS for c in unbroken)
    assert sum(c.count("word") for c in unbroken) == 500


def test_japanese_splits_after_full_stops() -> None:
    chunks = chunk_text("営業時間は十時からです。" * 200)
    assert len(chunks) > 1
    assert all(len(c) <= CHUNK_CHARS and c.endswith("。") for c in chunks)


def test_headings_start_a_passage_and_keep_their_text() -> None:
    content = "# Shop\n\nWelcome.\n\n## Opening hours\nMonday to Friday.\n\n## Returns\n\n30 days."
    assert chunk_text(content) == [
        "Shop\n\nWelcome.",
        "Opening hours\n\nMonday to Friday.",
        "Returns\n\n30 days.",
    ]


def test_markdown_title_comes_from_the_first_heading_or_the_filename() -> None:
    [item] = parse_import("faq.md", b"# Store FAQ\n\n## Hours\n\nNine to five.\n")
    assert item.title == "Store FAQ"
    assert "# Store FAQ" not in item.content
    [untitled] = parse_import("docs/opening_hours.md", b"Nine to five.")
    assert untitled.title == "opening hours"


def test_text_file_is_one_item_named_after_the_file() -> None:
    [item] = parse_import("C:\\Users\\ana\\Returns-policy.TXT", "Devoluções em 30 dias.".encode())
    assert (item.title, item.content) == ("Returns policy", "Devoluções em 30 dias.")


def test_csv_with_and_without_header() -> None:
    with_header = parse_import(
        "faq.csv", b'question,answer\nHours?,"Nine, to five"\n\nParking?,Yes\n'
    )
    assert [(i.title, i.content) for i in with_header] == [
        ("Hours?", "Nine, to five"),
        ("Parking?", "Yes"),
    ]
    without = parse_import("faq.csv", "Horário?,9h às 18h\r\n".encode())
    assert [(i.title, i.content) for i in without] == [("Horário?", "9h às 18h")]
    semicolons = parse_import("faq.csv", b"Question;Answer\nHours?;Nine, to five\n")
    assert [(i.title, i.content) for i in semicolons] == [("Hours?", "Nine, to five")]


def test_json_list_or_items_object() -> None:
    entries = [{"title": "Hours", "content": "9-5", "tags": ["info"], "source_url": None}]
    assert parse_import("kb.json", json.dumps(entries).encode())[0].tags == ["info"]
    wrapped = parse_import("kb.json", json.dumps({"items": entries}).encode())
    assert wrapped[0].title == "Hours"


@pytest.mark.parametrize(
    ("filename", "data", "problem"),
    [
        ("faq.pdf", b"%PDF", "not a supported type"),
        ("faq", b"text", "not a supported type"),
        ("faq.txt", b"", "empty"),
        ("faq.txt", b"  \n ", "empty"),
        ("faq.txt", b"caf\xe9", "not valid UTF-8"),
        ("faq.txt", b"a\x00b", "NUL"),
        ("faq.txt", b"x" * (MAX_IMPORT_BYTES + 1), "larger than 2 MB"),
        ("faq.csv", b'question,answer\n"Hours?,Nine\n', "not valid CSV"),
        ("faq.csv", b"question,answer\nHours?,Nine,extra\n", "row 2 has 3 columns"),
        ("faq.csv", b"question,answer\n,Nine\n", "row 2: title: must not be blank"),
        ("faq.csv", b"question,answer\n", "no rows"),
        ("kb.json", b'[{"title": "x", "content": ', "not valid JSON"),
        ("kb.json", b'{"title": "x"}', "expected a JSON list"),
        ("kb.json", b"[]", "empty"),
        ("kb.json", b'[{"title": "x", "content": "y"}, 3]', "items[1]: must be an object"),
        ("kb.json", b'[{"title": 5, "content": "y"}]', "items[0].title: must be a string"),
        ("kb.json", b'[{"title": "x"}]', "items[0].content: must be a string"),
        ("kb.json", b'[{"title": "x", "content": "y", "tags": "a"}]', "items[0].tags"),
        (
            "kb.json",
            b'[{"title": "x", "content": "y", "source_url": "ftp://x"}]',
            "items[0].source_url: must be an http",
        ),
        ("kb.json", json.dumps([{"title": "t" * 301, "content": "y"}]).encode(), "at most 300"),
        ("kb.json", b'[{"title": "x\\u0000", "content": "y"}]', "NUL"),
    ],
)
def test_bad_files_are_refused_naming_the_problem(filename: str, data: bytes, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_import(filename, data)


def test_field_rules() -> None:
    assert check_tags([" a ", "a", "", "b"]) == ["a", "b"]
    with pytest.raises(ValueError, match="at most 20"):
        check_tags([f"t{n}" for n in range(21)])
    with pytest.raises(ValueError, match="longer than 50"):
        check_tags(["x" * 51])
    assert check_source_url("https://example.com/faq") == "https://example.com/faq"
    assert check_source_url("  ") is None
    for bad in ("javascript:alert(1)", "example.com", "http://", "https://exa mple.com"):
        with pytest.raises(ValueError, match="http"):
            check_source_url(bad)


def test_a_pasted_faq_page_becomes_one_passage_per_question() -> None:
    page = (
        "What are your opening hours?\nWe open at 9 and close at 6.\n\n"
        "Do you take credit cards?\nYes, Visa and Mastercard.\n\n"
        "**¿Aceptan mascotas?**\nSí, perros pequeños.\n\n"
        "Q: Is there parking?\nA: Yes, behind the shop.\n\n"
        "駐車場はありますか？\n店の裏に3台分あります。"  # noqa: RUF001
    )
    assert chunk_text(page) == [
        "What are your opening hours?\n\nWe open at 9 and close at 6.",
        "Do you take credit cards?\n\nYes, Visa and Mastercard.",
        "**¿Aceptan mascotas?**\n\nSí, perros pequeños.",
        "Q: Is there parking?\n\nA: Yes, behind the shop.",
        "駐車場はありますか？\n\n店の裏に3台分あります。",  # noqa: RUF001
    ]


def test_a_question_inside_a_paragraph_or_a_list_does_not_split_it() -> None:
    text = "Why choose us? Because we care.\nWe are open daily.\n\n- Is it free?\n- Yes."
    assert chunk_text(text) == [text]
