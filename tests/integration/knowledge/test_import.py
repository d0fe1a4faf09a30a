from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bob.db.session import Database
from bob.knowledge.service import MAX_IMPORT_BYTES
from bob.main import create_app
from bob.settings import Settings
from tests.integration.knowledge.conftest import Business


async def upload(business: Business, filename: str, data: bytes) -> httpx.Response:
    return await business.client.post(
        "/api/knowledge/import",
        files={"file": (filename, data, "application/octet-stream")},
        headers=business.owner,
    )


async def items(business: Business) -> list[dict[str, Any]]:
    response = await business.client.get("/api/knowledge", headers=business.owner)
    listed: list[dict[str, Any]] = response.json()["items"]
    return listed


async def imported(business: Business, filename: str, data: bytes) -> list[dict[str, Any]]:
    response = await upload(business, filename, data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == len(body["item_ids"])
    by_id = {i["id"]: i for i in await items(business)}
    return [by_id[item_id] for item_id in body["item_ids"]]


async def test_markdown_is_one_item_split_at_headings(business: Business) -> None:
    document = (
        "# Trail Outfitters FAQ\n\n"
        "Everything about our shop.\n\n"
        "## Opening hours\n\nMonday to Friday, 9:00 to 18:00.\n\n"
        "## Returns\n\nReturn unused items within 30 days.\n"
    )
    [item] = await imported(business, "faq.md", document.encode())
    assert item["title"] == "Trail Outfitters FAQ"
    assert "## Returns" in item["content"]
    [hit] = await business.search("How do returns work?", limit=1)
    assert hit["item_id"] == item["id"]
    assert hit["text"] == "Returns\n\nReturn unused items within 30 days."


async def test_text_file_is_one_item_named_after_the_file(business: Business) -> None:
    [item] = await imported(business, "parking_info.txt", "Estacionamento grátis.\n".encode())
    assert (item["title"], item["content"]) == ("parking info", "Estacionamento grátis.")


async def test_csv_rows_become_items(business: Business) -> None:
    data = (
        "question,answer\n"
        'Do you ship abroad?,"Yes, to 30 countries."\n'
        "Qual é o horário?,Das 9h às 18h.\n"
    ).encode()
    made = await imported(business, "faq.csv", data)
    assert [(i["title"], i["content"]) for i in made] == [
        ("Do you ship abroad?", "Yes, to 30 countries."),
        ("Qual é o horário?", "Das 9h às 18h."),
    ]
    headerless = await imported(business, "more.csv", b"Gift cards?,Not yet.\n")
    assert [i["title"] for i in headerless] == ["Gift cards?"]


async def test_json_items_with_tags_and_source(business: Business) -> None:
    entries = [
        {
            "title": "Warranty",
            "content": "Two years on all bikes.",
            "tags": ["bikes"],
            "source_url": "https://shop.example.com/warranty",
        },
        {"title": "Repairs", "content": "Book a repair online."},
    ]
    made = await imported(business, "kb.json", json.dumps({"items": entries}).encode())
    assert [(i["title"], i["tags"], i["source_url"]) for i in made] == [
        ("Warranty", ["bikes"], "https://shop.example.com/warranty"),
        ("Repairs", [], None),
    ]
    [hit] = await business.search("bike warranty", limit=1)
    assert hit["source_url"] == "https://shop.example.com/warranty"


@pytest.mark.parametrize(
    ("filename", "data", "problem"),
    [
        ("faq.docx", b"PK", "not a supported type"),
        ("faq.txt", b"", "file: is empty"),
        ("faq.txt", b"\xff\xfeH\x00i\x00", "not valid UTF-8"),
        ("faq.csv", b"question,answer\nHours?,Nine\nParking?\n", "row 3 has 1 columns"),
        ("faq.csv", b'question,answer\nHours?,"Nine\n', "not valid CSV"),
        (
            "kb.json",
            json.dumps(
                [{"title": "Fine", "content": "ok"}, {"title": "", "content": "x"}]
            ).encode(),
            "items[1].title: must not be blank",
        ),
        ("kb.json", b"{not json", "not valid JSON"),
    ],
)
async def test_a_bad_file_stores_nothing(
    business: Business, filename: str, data: bytes, problem: str
) -> None:
    await business.add("Existing", "Stays as it is.")
    response = await upload(business, filename, data)
    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["message"]
    assert [i["title"] for i in await items(business)] == ["Existing"]


async def test_the_file_field_is_required(business: Business) -> None:
    response = await business.client.post(
        "/api/knowledge/import", data={"other": "x"}, headers=business.owner
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "file"


async def test_the_import_takes_the_2_mb_it_documents_past_the_body_limit(
    business: Business, settings: Settings
) -> None:
    assert settings.max_body_bytes < 1_500_000  # the 1 MiB default, which this file is over
    # Items of about 90 KB each: an item's own limit is 100,000 characters.
    entry = {"title": "Rentals", "content": "Rent a tent and bring it back on Monday. " * 2200}

    def file_of(size: int) -> bytes:
        count = size // len(json.dumps(entry)) + 1
        return json.dumps([{**entry, "title": f"Rentals {n}"} for n in range(count)]).encode()

    roomy = file_of(1_500_000)
    assert 1_500_000 < len(roomy) < 1_700_000
    response = await upload(business, "faq.json", roomy)
    assert response.status_code == 201, response.text
    assert response.json()["count"] == 17
    too_big = await upload(business, "big.json", file_of(2_500_000))
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"
    # Other requests keep the installation's limit.
    elsewhere = await business.client.post(
        "/api/knowledge",
        json={"title": "Big", "content": "x" * 1_500_000},
        headers=business.owner,
    )
    assert elsewhere.status_code == 413
    assert len(await items(business)) == 17


async def test_files_over_2_mb_are_refused(
    business: Business, db: Database, settings: Settings
) -> None:
    # An installation limit raised past the import's allowance applies to imports too, and the
    # import's own 2 MB limit still shows.
    roomy = create_app(settings.model_copy(update={"max_body_bytes": 3 * 1024 * 1024}), database=db)
    transport = httpx.ASGITransport(app=roomy)
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
        response = await client.post(
            "/api/knowledge/import",
            files={"file": ("big.txt", b"word " * (MAX_IMPORT_BYTES // 5 + 1), "text/plain")},
            headers=business.owner,
        )
    assert response.status_code == 422, response.text
    assert "larger than 2 MB" in response.json()["error"]["message"]
    assert await items(business) == []
