"""Search by words on real-looking FAQ text: rare words outweigh common ones, compounds and
Japanese words match as people write them, statistics are the tenant's own, and passages from
before the current analyser are tokenised again by the worker."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update

from bob import audit
from bob.db import migrate
from bob.db.session import Database
from bob.jobs.runner import JobRunner
from bob.knowledge import jobs as knowledge_jobs
from bob.knowledge import lexical
from bob.knowledge import service as knowledge
from bob.knowledge.models import KnowledgeChunk
from bob.settings import Settings
from bob.text.search import ANALYZER_VERSION, Term
from tests.conftest import FreshDatabase, make_settings
from tests.factories import make_tenant
from tests.integration.knowledge.conftest import Business

SHOP = {
    "Loja virtual": "Nossa loja virtual funciona 24 horas e entrega em todo o Brasil.",
    "Horário da loja física": "A loja física abre de segunda a sábado, das 9h às 18h.",
    "Trocas": "Trocas na loja em até 30 dias, com a nota fiscal da compra.",
    "Pagamento": "Aceitamos Pix, boleto e cartão em até 10 vezes sem juros na loja.",
    "Dados da empresa": "CNPJ 12.345.678/0001-90, razão social Bob Comércio Ltda.",
}

CLINIC = {
    "Dental x-rays": "Our dental x-rays use digital sensors with very low radiation.",
    "Dental cleaning": "A dental cleaning takes about 45 minutes and includes polishing.",
    "Dental emergencies": "For dental emergencies call the clinic; we keep slots every day.",
    "Dental implants": "We place dental implants in two visits, three months apart.",
    "Paying for dental care": "We accept CareCredit and all major dental insurance plans.",
}

HOTEL = {
    "Check-in": "Check-in starts at 15:00 at the front desk.",
    "Check-out": "Check-out is until 11:00. A late check-out can be requested.",
    "Wi-Fi": "Free Wi-Fi in every room; the password is on your key card.",
}

RYOKAN = {
    "喫煙について": "館内は全面禁煙です。喫煙スペースは1階の玄関横にございます。"
    "タバコは喫煙スペースでお吸いください。",
    "大浴場": "大浴場には15時から深夜1時まで入ることができます。",
    "ペット": "小型犬に限り、ペットと一緒に泊まることができます。",
    "お支払い": "クレジットカードと電子マネーが使えます。",
    "会議室": "会議スペースは予約制です。",
}


async def add_all(business: Business, items: dict[str, str]) -> dict[str, str]:
    return {title: (await business.add(title, content))["id"] for title, content in items.items()}


async def best(business: Business, question: str) -> tuple[str | None, float]:
    hits = await business.search(question)
    return (hits[0]["title"], hits[0]["score"]) if hits else (None, 0.0)


async def score_of(business: Business, question: str, title: str) -> float:
    hits = await business.search(question, limit=20)
    return max((h["score"] for h in hits if h["title"] == title), default=0.0)


async def test_a_word_common_to_the_shop_does_not_answer_for_a_rare_one(
    business: Business,
) -> None:
    await add_all(business, SHOP)
    title, score = await best(business, "qual o CNPJ da loja?")
    assert title == "Dados da empresa"
    assert score > 0.75  # it does not say "loja", which matters little here
    # "loja" is in most of the shop's items, so it is not half of the question.
    assert await score_of(business, "qual o CNPJ da loja?", "Loja virtual") < 0.2


async def test_without_the_rare_word_no_passage_covers_the_question(business: Business) -> None:
    await add_all(business, {k: v for k, v in SHOP.items() if k != "Dados da empresa"})
    hits = await business.search("qual o CNPJ da loja?")
    assert hits  # "loja" finds passages...
    assert all(hit["score"] < 0.2 for hit in hits)  # ...that do not answer


async def test_dental_at_a_dental_clinic_counts_little(business: Business) -> None:
    await add_all(business, CLINIC)
    title, score = await best(business, "Do you do dental implants?")
    assert (title, score) == ("Dental implants", 1.0)
    assert await score_of(business, "Do you do dental implants?", "Dental x-rays") < 0.2
    assert (await best(business, "are xrays safe?"))[0] == "Dental x-rays"
    assert (await best(business, "Do you take Care Credit?"))[0] == "Paying for dental care"


async def test_without_implants_the_x_ray_passage_is_no_answer(business: Business) -> None:
    await add_all(business, {k: v for k, v in CLINIC.items() if k != "Dental implants"})
    assert all(h["score"] < 0.2 for h in await business.search("Do you do dental implants?"))


async def test_check_in_is_not_check_out(business: Business) -> None:
    await add_all(business, HOTEL)
    assert await best(business, "When is check-in?") == ("Check-in", 1.0)
    assert await score_of(business, "When is check-in?", "Check-out") == 0.0
    assert (await best(business, "until when is checkout?"))[0] == "Check-out"
    assert await best(business, "do you have wifi") == ("Wi-Fi", 1.0)


async def test_a_tie_goes_to_the_passage_whose_title_asks_the_question(
    business: Business,
) -> None:
    await add_all(
        business,
        {
            "Phone": "Call us during opening hours. Outside opening hours, leave a message.",
            "Opening hours": "We are open from 9:00 to 17:00 on weekdays.",
        },
    )
    hits = await business.search("What are your opening hours?")
    assert [(h["title"], h["score"]) for h in hits] == [("Opening hours", 1.0), ("Phone", 1.0)]


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("喫煙スペースはありますか", "喫煙について"),
        ("タバコ吸えますか", "喫煙について"),
        ("大浴場に入れますか", "大浴場"),
        ("ペットは泊まれますか", "ペット"),
        ("クレジットカードは使えますか", "お支払い"),
    ],
)
async def test_japanese_questions_find_their_passages(
    business: Business, question: str, title: str
) -> None:
    await add_all(business, RYOKAN)
    assert await best(business, question) == (title, 1.0)


async def test_the_scripts_of_a_word_do_not_join_words(business: Business) -> None:
    # Bigrams across word boundaries (煙ス, コ吸) once made unrelated passages match.
    await add_all(business, RYOKAN)
    assert await score_of(business, "喫煙スペースはありますか", "会議室") < 0.5


async def test_each_passage_is_searched_in_its_own_language(
    business: Business, db: Database
) -> None:
    ids = await add_all(
        business,
        {
            "Horário de funcionamento": "A loja abre de segunda a sexta, das 9h às 18h.",
            "Opening hours": "The shop opens Monday to Friday from 9:00 to 18:00.",
            "営業時間": "営業時間は平日の午前9時から午後6時までです。",
        },
    )
    async with db.sessionmaker() as session:
        languages = dict(
            (
                await session.execute(
                    select(KnowledgeChunk.item_id, KnowledgeChunk.language).where(
                        KnowledgeChunk.tenant_id == business.made.tenant.id
                    )
                )
            ).all()
        )
        passages = await knowledge.retrieve(
            session=session, tenant_id=business.made.tenant.id, query="Quando a loja abre?"
        )
    assert languages == {
        uuid.UUID(ids["Horário de funcionamento"]): "pt",
        uuid.UUID(ids["Opening hours"]): "en",
        uuid.UUID(ids["営業時間"]): "ja",
    }
    assert passages[0].title == "Horário de funcionamento"
    assert passages[0].language == "pt"
    assert (await best(business, "When does the shop open?"))[0] == "Opening hours"
    assert (await best(business, "営業時間は?"))[0] == "営業時間"


async def hits_of(db: Database, tenant_id: uuid.UUID, question: str) -> list[tuple[int, float]]:
    async with db.sessionmaker() as session:
        hits = await lexical.lexical_candidates(
            session=session, tenant_id=tenant_id, query=question, language="en", limit=10
        )
    return [(hit.chunk_id, hit.coverage) for hit in hits]


async def test_another_tenants_knowledge_never_changes_the_results(
    business: Business, db: Database, settings: Settings
) -> None:
    # Both passages hold both words, so they tie on coverage; the tenant's own BM25 puts the
    # one with more of the rarer word first, and here "parking" is the common one.
    ids = await add_all(
        business,
        {
            "Garage": "Parking spaces for guests, parking by the hour and parking for vans.",
            "Parking": "Parking in the garage of the garage building, by the garage door.",
            "Street parking": "Street parking is free after 18:00.",
        },
    )
    tenant = business.made.tenant.id
    questions = ("parking garage", "street parking", "garage door")
    before = {question: await hits_of(db, tenant, question) for question in questions}
    async with db.sessionmaker() as session:
        top = await knowledge.retrieve(
            session=session, tenant_id=tenant, query="parking garage", limit=2
        )
    assert [p.item_id for p in top] == [uuid.UUID(ids["Parking"]), uuid.UUID(ids["Garage"])]
    assert [p.score for p in top] == [1.0, 1.0]

    # Another tenant makes "garage" common in the index as a whole.
    rival = await make_tenant(db, settings)
    async with db.sessionmaker() as session:
        for n in range(40):
            await knowledge.create_item(
                session=session,
                settings=settings,
                tenant_id=rival.tenant.id,
                actor=audit.CLI,
                title=f"Garage {n}",
                content=f"Garage {n} of the rival has a garage door and a garage roof.",
            )
        await session.commit()
    assert {question: await hits_of(db, tenant, question) for question in questions} == before


async def test_the_index_knows_each_passages_tenant(business: Business, db: Database) -> None:
    await add_all(business, HOTEL)
    async with db.sessionmaker() as session:
        if session.get_bind().dialect.name == "sqlite":
            # The tenant is an indexed column of the FTS5 table, so MATCH can name it.
            own = await session.scalar(
                text("SELECT count(*) FROM knowledge_fts WHERE knowledge_fts MATCH :m"),
                {"m": f'tenant_id:"{business.made.tenant.id.hex}"'},
            )
            assert own == len(HOTEL)
        else:
            # The stored vector follows search_text without anyone computing it.
            found = await session.scalar(
                text(
                    "SELECT count(*) FROM knowledge_chunks WHERE tenant_id = :t "
                    "AND search_vector @@ to_tsquery('simple', 'checkin')"
                ),
                {"t": business.made.tenant.id},
            )
            assert found == 1


def test_the_rarest_terms_are_searched_first_within_the_budget() -> None:
    common, rare, absent = Term((("common",),)), Term((("rare",),)), Term((("absent",),))
    df = {common: lexical.CANDIDATE_BUDGET, rare: 3, absent: 0}
    assert lexical._searched([common, rare, absent], df) == ([rare], 3)
    # A question of common words only still gets the index's best passages.
    assert lexical._searched([common], df) == ([common], lexical.CANDIDATE_BUDGET)


def test_idf_is_the_tenants_and_never_negative() -> None:
    assert lexical.idf(10, 10) > 0
    assert lexical.idf(10, 10) < lexical.idf(10, 5) < lexical.idf(10, 1)
    assert lexical.idf(10, 0) == lexical.idf(10, 1)
    assert lexical.idf(0, 0) > 0


# ---- re-tokenising, with real commits ---------------------------------------------------------


async def test_passages_from_before_are_tokenised_again_by_the_worker(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    settings = make_settings(fresh_database.url, tmp_path, embeddings="off")
    await asyncio.to_thread(migrate.upgrade, settings)
    db = Database.of(fresh_database.settings)
    try:
        made = await make_tenant(db, settings)
        async with db.transaction() as session:
            item = await knowledge.create_item(
                session=session,
                settings=settings,
                tenant_id=made.tenant.id,
                actor=audit.CLI,
                title="Check-in",
                content="O check-in começa às 15h na recepção do hotel.",
            )
        # Back to the schema (and index) of the previous version, and forward again: the
        # passage survives both ways and is marked for the current analyser.
        previous = ScriptDirectory.from_config(migrate.alembic_config(settings)).get_revision(
            "0009"
        )
        assert previous is not None
        assert isinstance(previous.down_revision, str)
        await asyncio.to_thread(migrate.downgrade, settings, previous.down_revision)
        async with db.transaction() as session:
            await session.execute(text("UPDATE knowledge_chunks SET search_text = 'check começ'"))
        await asyncio.to_thread(migrate.upgrade, settings)
        async with db.transaction() as session:
            [(analyzer, language)] = (
                await session.execute(select(KnowledgeChunk.analyzer, KnowledgeChunk.language))
            ).all()
        assert (analyzer, language) == (0, "en")

        assert await lexical.enqueue_stale(db=db) == 1
        assert (
            await JobRunner(
                db=db, settings=settings, name="test-worker", work=knowledge_jobs.WORK
            ).drain()
            == 1
        )
        async with db.transaction() as session:
            [(analyzer, language, tokens)] = (
                await session.execute(
                    select(
                        KnowledgeChunk.analyzer, KnowledgeChunk.language, KnowledgeChunk.search_text
                    )
                )
            ).all()
            passages = await knowledge.retrieve(
                session=session, tenant_id=made.tenant.id, query="que horas é o check-in?"
            )
        assert (analyzer, language) == (ANALYZER_VERSION, "pt")
        assert tokens.split()[:2] == ["checkin", "check"]
        assert [p.item_id for p in passages] == [item.id]
        assert await lexical.enqueue_stale(db=db) == 0

        # A chunk re-chunked while the job was queued is current already and left alone.
        async with db.transaction() as session:
            await session.execute(update(KnowledgeChunk).values(analyzer=0))
        assert await lexical.enqueue_stale(db=db) == 1
        async with db.transaction() as session:
            await knowledge.update_item(
                session=session,
                settings=settings,
                tenant_id=made.tenant.id,
                actor=audit.CLI,
                item_id=item.id,
                content="O check-in começa às 14h.",
            )
        assert (
            await JobRunner(
                db=db, settings=settings, name="test-worker", work=knowledge_jobs.WORK
            ).drain()
            == 1
        )
        async with db.transaction() as session:
            assert await session.scalar(select(KnowledgeChunk.analyzer)) == ANALYZER_VERSION
    finally:
        await db.dispose()
