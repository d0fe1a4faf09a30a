from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select, text

from bob.db.session import Database
from bob.knowledge import service as knowledge
from bob.knowledge.models import KnowledgeChunk
from bob.settings import Settings
from bob.text.passage import Passage
from bob.text.search import query_terms
from tests.factories import bearer, make_tenant
from tests.integration.knowledge.conftest import Business

KNOWLEDGE = [
    (
        "Opening hours",
        "Our shop is open Monday to Friday from 9:00 to 18:00 and on Saturday from 10:00 to "
        "14:00. We are closed on Sundays and public holidays.",
    ),
    (
        "Returns policy",
        "You can return any unused item within 30 days of delivery for a full refund. "
        "Return shipping is free.",
    ),
    (
        "Shipping",
        "We ship to 30 countries. Orders placed before noon leave the warehouse the same day.",
    ),
    ("Horário de atendimento", "Nosso horário de atendimento é de segunda a sexta, das 9h às 18h."),
    ("Devoluções", "Aceitamos devoluções em até 30 dias após a entrega."),
    ("営業時間", "営業時間は平日の午前9時から午後6時までです。"),
    ("返品について", "返品は商品到着後30日以内に受け付けます。"),
]


@pytest.fixture
async def shop(business: Business) -> dict[str, str]:
    return {title: (await business.add(title, content))["id"] for title, content in KNOWLEDGE}


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("What are your opening hours?", "Opening hours"),
        ("Are you open on Saturday?", "Opening hours"),
        ("How do I return an item?", "Returns policy"),
        ("Do you ship abroad to other countries?", "Shipping"),
        ("Quais são os horários de atendimento?", "Horário de atendimento"),
        ("Como funcionam as devoluções?", "Devoluções"),
        ("営業時間は何時ですか\uff1f", "営業時間"),
        ("返品はできますか", "返品について"),
    ],
)
async def test_the_right_passage_comes_first(
    business: Business, shop: dict[str, str], question: str, title: str
) -> None:
    hits = await business.search(question)
    assert hits, question
    assert hits[0]["item_id"] == shop[title]
    assert hits[0]["title"] == title
    assert hits[0]["score"] >= 0.5
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)


async def test_the_response_shows_the_terms_it_searched_for(
    business: Business, shop: dict[str, str]
) -> None:
    response = await business.client.get(
        "/api/knowledge/search",
        params={"q": "What are your opening hours?"},
        headers=business.owner,
    )
    assert response.json()["terms"] == ["open", "hour"]
    [hit] = response.json()["hits"][:1]
    assert set(hit) == {"chunk_id", "item_id", "title", "text", "score", "source_url"}
    assert hit["score"] == 1.0


@pytest.mark.parametrize(
    "question",
    [
        "Do you sell gift cards?",
        "Can I pay with cryptocurrency?",
        "Vocês aceitam cartão presente?",
        "駐車場はありますか",
        "what is the",  # only stopwords: nothing to search for
    ],
)
async def test_a_question_the_knowledge_does_not_cover_finds_no_good_passage(
    business: Business, shop: dict[str, str], question: str
) -> None:
    assert all(hit["score"] < 0.5 for hit in await business.search(question))


async def test_retrieve_returns_passages_of_the_tenant_only(
    business: Business, db: Database, shop: dict[str, str]
) -> None:
    other = uuid.uuid4()
    async with db.sessionmaker() as session:
        passages = await knowledge.retrieve(
            session=session,
            tenant_id=business.made.tenant.id,
            query="When are you open?",
            limit=2,
        )
        nobody = await knowledge.retrieve(
            session=session, tenant_id=other, query="When are you open?"
        )
        nothing = await knowledge.retrieve(
            session=session, tenant_id=business.made.tenant.id, query="¿Qué?"
        )
    assert len(passages) <= 2
    assert isinstance(passages[0], Passage)
    assert passages[0].item_id == uuid.UUID(shop["Opening hours"])
    assert passages[0].title == "Opening hours"
    assert nobody == []
    assert nothing == []


async def test_search_never_shows_another_tenants_passages(
    business: Business,
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    shop: dict[str, str],
) -> None:
    rival = await make_tenant(db, settings)
    rival_owner = await bearer(client, rival.owner_email)
    # The rival's passage matches the question better than anything of ours.
    secret = await client.post(
        "/api/knowledge",
        json={"title": "Opening hours", "content": "Rival opening hours: open all hours."},
        headers=rival_owner,
    )
    assert secret.status_code == 201
    for question in ("What are your opening hours?", "rival opening hours", "rival"):
        for hit in await business.search(question, limit=20):
            assert hit["item_id"] != secret.json()["id"]
            assert "Rival" not in hit["text"]
    rival_hits = await client.get(
        "/api/knowledge/search", params={"q": "return shipping"}, headers=rival_owner
    )
    assert rival_hits.json()["hits"] == []


async def chunk_count(db: Database, item_id: str) -> int:
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(KnowledgeChunk)
            .where(KnowledgeChunk.item_id == uuid.UUID(item_id))
        )
    return int(count or 0)


async def indexed(db: Database, word: str) -> int:
    """Rows the database's full-text index itself finds for a word."""
    [word] = query_terms(word)
    async with db.sessionmaker() as session:
        if session.get_bind().dialect.name == "sqlite":
            statement = text("SELECT count(*) FROM knowledge_fts WHERE knowledge_fts MATCH :w")
            return int(await session.scalar(statement, {"w": f'"{word}"'}) or 0)
        statement = text(
            "SELECT count(*) FROM knowledge_chunks "
            "WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', :w)"
        )
        return int(await session.scalar(statement, {"w": word}) or 0)


async def test_delete_removes_the_chunks_from_search(
    business: Business, db: Database, client: httpx.AsyncClient
) -> None:
    item = await business.add("Quokka care", "Quokkas eat leaves.\n\n" + "More text. " * 100)
    chunks = await chunk_count(db, item["id"])
    assert chunks == 3
    assert await indexed(db, "quokka") == chunks  # the title is in every passage
    assert [h["item_id"] for h in await business.search("quokka")] == [item["id"]] * chunks

    response = await client.delete(f"/api/knowledge/{item['id']}", headers=business.owner)
    assert response.status_code == 204
    assert await chunk_count(db, item["id"]) == 0
    assert await indexed(db, "quokka") == 0
    assert await business.search("quokka") == []


async def test_update_rechunks_the_content(
    business: Business, db: Database, client: httpx.AsyncClient
) -> None:
    item = await business.add("Parking", "Free parking behind the store.")
    assert await chunk_count(db, item["id"]) == 1
    assert await indexed(db, "store") == 1
    long_content = "\n\n".join(
        f"Bicycle rack {n}. " + "Racks are by the main entrance. " * 20 for n in range(3)
    )
    url = f"/api/knowledge/{item['id']}"
    response = await client.patch(url, json={"content": long_content}, headers=business.owner)
    assert response.status_code == 200, response.text
    assert await chunk_count(db, item["id"]) == 3
    assert await business.search("free store") == []
    assert await indexed(db, "store") == 0
    hits = await business.search("bicycle racks")
    assert len({h["chunk_id"] for h in hits}) == 3
    assert {h["item_id"] for h in hits} == {item["id"]}

    # The title is part of every passage's search text, so renaming re-indexes too.
    renamed = await client.patch(url, json={"title": "Cycling"}, headers=business.owner)
    assert renamed.status_code == 200
    assert await business.search("parking") == []
    assert len(await business.search("cycling")) == 3
    assert all(h["title"] == "Cycling" for h in await business.search("cycling"))


async def test_search_validates_its_parameters(business: Business) -> None:
    client = business.client
    missing = await client.get("/api/knowledge/search", headers=business.owner)
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "q"
    too_many = await client.get(
        "/api/knowledge/search", params={"q": "x", "limit": 21}, headers=business.owner
    )
    assert too_many.status_code == 422
    # Characters that mean something to FTS5 or tsquery are just text.
    for q in ['"open" OR hours*', "open & !hours | (x)", "NEAR(open hours)", "'; DROP TABLE x"]:
        response = await client.get(
            "/api/knowledge/search", params={"q": q}, headers=business.owner
        )
        assert response.status_code == 200, (q, response.text)
