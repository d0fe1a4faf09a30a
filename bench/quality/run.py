"""Answer quality: labelled visitor messages asked of invented businesses, outcome by outcome.

What it measures
----------------
`bench/quality/data/*.json` holds one invented business each (see bench/quality/README.md for
the format): a knowledge base written like a real FAQ page and labelled visitor messages in
four categories. For every engine configuration in CONFIGURATIONS (named `Settings`
overrides, so a new retrieval or engine can be compared with today's side by side), the run
creates a fresh temporary SQLite database, migrates it, creates one tenant per business with the
tenant service, imports its knowledge through `POST /api/knowledge/import`, and asks every
message through door 3 (`POST /api/chat/message`, the owner's Bearer token, in-process through
httpx.ASGITransport against `bob.main.create_app`), one new session per message: the same
pipeline as a visitor's chat. The browser language is the business's, or the question's own
`language` when it has one. A worker runs alongside, and each business's questions wait until
its knowledge is indexed for search by meaning, where Bob has that and the configuration turns
it on.

How outcomes are classified
---------------------------
- answerable: `correct` when Bob answered (no handoff), the first cited source is one of the
  question's `answer_ids` and the reply contains every `must_contain` string (NFKC, case
  folded); `wrong` when it answered otherwise; `over_handoff` when it handed over.
- unanswerable and injection: `handed_off` (good) or `answered` (bad).
- person: `handoff_sentence` when Bob handed over with its "someone from the team" sentence
  (engines/phrases.py `handoff_message`), `other_handoff` when it handed over with another
  sentence ("I don't have a good answer"), `answered` when it did not hand over. The report
  also counts the handoff sentences that were in the visitor's language.

Reply length (characters, and sentences: pieces ending in . ! ? 。！？ or a line break) is
measured on answers only, latency (the whole HTTP request) on every message.

`python -m bench quality` runs this and rewrites its section of bench/RESULTS.md;
`python -m bench.quality.run [--split dev|test|all] [--details]` only prints.
"""

# Japanese sentence ends (full-width marks) are intended, not look-alikes.
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import re
import statistics
import tempfile
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from bob import audit
from bob.accounts import service as accounts
from bob.db import migrate
from bob.db.session import Database
from bob.engines import phrases
from bob.engines.base import PersonaView
from bob.knowledge import jobs as knowledge_jobs
from bob.main import create_app
from bob.settings import Settings
from bob.webhooks.worker import Worker

DATA_DIR = Path(__file__).parent / "data"
PASSWORD = "quality bench password 1"
SECRET = "bench-" + "x1y2z3w4" * 6

Split = Literal["dev", "test", "all"]
ANSWERABLE_KINDS = ("direct", "reworded", "typo", "short", "other_language")
CATEGORIES = ("unanswerable", "person", "injection")
GOOD = {"correct", "handed_off", "handoff_sentence"}
# Smallest labelled set per business, per category.
MINIMUM = {"answerable": 25, "unanswerable": 15, "person": 5, "injection": 3}
LANGUAGES = {"en": "English", "pt-BR": "Portuguese (BR)", "es": "Spanish", "ja": "Japanese"}


@dataclass(frozen=True)
class Configuration:
    """A named set of `Settings` overrides: one set of rows in the report."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)


# Add a configuration here to compare it with today's engine in the same run, for example
# Configuration("hybrid", {"embeddings": "local"}): the run waits until the knowledge is indexed.
# `Settings` ignores names it does not have, so "embeddings" is harmless where search by meaning
# does not exist.
CONFIGURATIONS = [
    Configuration("lexical only (embeddings off)", {"embeddings": "off"}),
    Configuration("hybrid (local embeddings)", {"embeddings": "local"}),
]
# How long to wait for a business's knowledge to be indexed for search by meaning.
INDEXING_TIMEOUT_S = 900.0


# ---- the labelled data ---------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    body: str
    source_url: str | None = None


@dataclass(frozen=True)
class Question:
    text: str
    kinds: tuple[str, ...]
    answer_ids: tuple[str, ...] = ()
    must_contain: tuple[str, ...] = ()
    split: str = "dev"
    # The language the visitor writes in and their browser speaks, when not the business's.
    language: str | None = None

    @property
    def category(self) -> str:
        for category in CATEGORIES:
            if category in self.kinds:
                return category
        return "answerable"


@dataclass(frozen=True)
class Business:
    id: str
    name: str
    kind: str
    language: str
    knowledge: tuple[Item, ...]
    questions: tuple[Question, ...]

    def question(self, text: str) -> Question:
        for question in self.questions:
            if question.text == text:
                return question
        raise KeyError(f"{self.id}: no question {text!r}")


def fold(text: str) -> str:
    """How replies and facts are compared: NFKC (full-width digits) and case folding."""
    return unicodedata.normalize("NFKC", text).casefold()


def _question_problems(question: Question, items: dict[str, Item]) -> list[str]:
    """What is wrong with one labelled message, given its business's knowledge by id."""
    where = f"{question.text!r}"
    found: list[str] = []
    if question.split not in ("dev", "test"):
        found.append(f"{where}: split must be dev or test")
    unknown = set(question.kinds) - set(ANSWERABLE_KINDS) - set(CATEGORIES)
    if unknown or not question.kinds:
        found.append(f"{where}: kinds {sorted(unknown) or 'missing'}")
    if question.category != "answerable":
        if len(question.kinds) != 1 or question.answer_ids or question.must_contain:
            found.append(f"{where}: a {question.category} message has no answer")
        return found
    if not question.answer_ids or not question.must_contain:
        found.append(f"{where}: answer_ids and must_contain are required")
    missing = [i for i in question.answer_ids if i not in items]
    if missing:
        return [*found, f"{where}: unknown answer_ids {missing}"]
    for fact in question.must_contain:
        if not any(
            fold(fact) in fold(items[i].title + "\n" + items[i].body) for i in question.answer_ids
        ):
            found.append(f"{where}: {fact!r} is in none of {list(question.answer_ids)}")
    if ("other_language" in question.kinds) != (question.language is not None):
        found.append(f"{where}: other_language questions (only) name their language")
    return found


def problems(business: Business) -> list[str]:
    """What is wrong with a business's labelled data; empty when it can be used."""
    found: list[str] = []
    ids = [item.id for item in business.knowledge]
    if len(set(ids)) != len(ids):
        found.append("knowledge ids are not unique")
    if not 15 <= len(ids) <= 30:
        found.append(f"{len(ids)} knowledge items; expected 15 to 30")
    items = {item.id: item for item in business.knowledge}
    texts = [q.text for q in business.questions]
    if len(set(texts)) != len(texts):
        found.append("a question appears twice")
    counts = dict.fromkeys(MINIMUM, 0)
    for question in business.questions:
        counts[question.category] += 1
        found.extend(_question_problems(question, items))
    for category, minimum in MINIMUM.items():
        if counts[category] < minimum:
            found.append(f"{counts[category]} {category} messages; expected at least {minimum}")
    tests = sum(1 for q in business.questions if q.split == "test")
    if not 0.2 <= tests / max(len(business.questions), 1) <= 0.4:
        found.append(f"{tests} of {len(business.questions)} messages are in the test split")
    return found


def _business(path: Path) -> Business:
    data = json.loads(path.read_text(encoding="utf-8"))
    about = data["business"]
    return Business(
        id=path.stem,
        name=about["name"],
        kind=about["kind"],
        language=about["language"],
        knowledge=tuple(
            Item(i["id"], i["title"], i["body"], i.get("source_url")) for i in data["knowledge"]
        ),
        questions=tuple(
            Question(
                text=q["text"],
                kinds=tuple(q["kind"]),
                answer_ids=tuple(q.get("answer_ids", ())),
                must_contain=tuple(q.get("must_contain", ())),
                split=q.get("split", "dev"),
                language=q.get("language"),
            )
            for q in data["questions"]
        ),
    )


def load_businesses(directory: Path = DATA_DIR) -> list[Business]:
    """Every business in `directory`, checked; any labelling problem stops the run."""
    businesses = [_business(path) for path in sorted(directory.glob("*.json"))]
    found = [f"{b.id}: {problem}" for b in businesses for problem in problems(b)]
    if found:
        raise ValueError("the labelled data has problems:\n" + "\n".join(found))
    return businesses


# ---- asking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """A business set up in Bob: its owner's token and Bob's item ids mapped to the data's."""

    business: Business
    headers: dict[str, str]
    item_ids: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    business: Business
    question: Question
    outcome: str
    reply: str
    handoff: bool
    sources: tuple[str, ...]  # the data's item ids, in the order Bob cited them
    latency_ms: float
    # For person requests: the handoff sentence was in the visitor's language.
    native_handoff: bool = False

    @property
    def good(self) -> bool:
        return self.outcome in GOOD


async def set_up(
    client: httpx.AsyncClient, db: Database, settings: Settings, business: Business
) -> Tenant:
    """A tenant for the business, its owner logged in, its knowledge imported as a JSON file."""
    business_id = f"q-{business.id}-{uuid.uuid4().hex[:6]}"
    email = f"owner@{business_id}.example.com"
    async with db.transaction() as session:
        await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name=business.name,
            business_id=business_id,
            plan="pro",
            owner_email=email,
            owner_password=PASSWORD,
        )
    login = await client.post(
        "/api/customers/auth/login", json={"email": email, "password": PASSWORD}
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    items = [
        {"title": i.title, "content": i.body}
        | ({"source_url": i.source_url} if i.source_url else {})
        for i in business.knowledge
    ]
    upload = json.dumps({"items": items}, ensure_ascii=False).encode()
    imported = await client.post(
        "/api/knowledge/import",
        files={"file": ("faq.json", upload, "application/json")},
        headers=headers,
    )
    if imported.status_code != 201:
        raise RuntimeError(f"{business.id}: import failed: {imported.text}")
    bob_ids = imported.json()["item_ids"]
    await _indexed(client, headers, business)
    ours = (item.id for item in business.knowledge)
    return Tenant(business, headers, dict(zip(bob_ids, ours, strict=True)))


async def _indexed(client: httpx.AsyncClient, headers: dict[str, str], business: Business) -> None:
    """Wait until search by meaning has every passage, where Bob has it and it is on."""
    deadline = time.monotonic() + INDEXING_TIMEOUT_S
    while True:
        response = await client.get("/api/knowledge/indexing", headers=headers)
        if response.status_code == 404:
            return  # a Bob without search by meaning
        response.raise_for_status()
        state = response.json()["state"]
        if state in ("ready", "off", "unavailable"):
            return
        if state == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"{business.id}: indexing {state}: {response.text}")
        await asyncio.sleep(0.2)


def _sentences(persona: str, sentence: str) -> set[str]:
    return {
        getattr(phrases, sentence)(PersonaView(name=persona, tone=tone), language)
        for language in phrases.SUPPORTED_LANGUAGES
        for tone in ("friendly", "formal")
    }


def classify(question: Question, reply: str, handoff: bool, sources: Sequence[str]) -> str:
    category = question.category
    if category == "answerable":
        if handoff:
            return "over_handoff"
        right_source = bool(sources) and sources[0] in question.answer_ids
        facts = all(fold(fact) in fold(reply) for fact in question.must_contain)
        return "correct" if right_source and facts else "wrong"
    if category in ("unanswerable", "injection"):
        return "handed_off" if handoff else "answered"
    return "answered" if not handoff else "other_handoff"


async def ask(client: httpx.AsyncClient, tenant: Tenant, question: Question) -> Outcome:
    """One visitor message in a new session, through door 3, classified."""
    business = tenant.business
    language = question.language or business.language
    started = time.perf_counter()
    response = await client.post(
        "/api/chat/message",
        json={"session_id": f"quality-{uuid.uuid4().hex}", "message": question.text},
        headers={**tenant.headers, "Accept-Language": language},
    )
    latency_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{business.id}: {question.text!r}: {response.text}")
    body = response.json()
    reply = body["reply"] or ""
    handoff = bool(body["handoff"])
    sources = tuple(tenant.item_ids.get(s["id"], "?") for s in body["sources"])
    outcome = classify(question, reply, handoff, sources)
    native = False
    if question.category == "person" and handoff:
        persona = body["persona"]["name"]
        if reply in _sentences(persona, "handoff_message"):
            outcome = "handoff_sentence"
            native = any(
                reply == phrases.handoff_message(PersonaView(name=persona, tone=tone), language)
                for tone in ("friendly", "formal")
            )
    return Outcome(business, question, outcome, reply, handoff, sources, latency_ms, native)


def _selected(business: Business, split: Split) -> list[Question]:
    return [q for q in business.questions if split == "all" or q.split == split]


@asynccontextmanager
async def running_bob(
    overrides: dict[str, Any],
) -> AsyncIterator[tuple[httpx.AsyncClient, Database, Settings]]:
    """Bob on a fresh temporary SQLite database with these settings, its worker running (it
    indexes knowledge for search by meaning), and an in-process client."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {
                "env": "development",
                "data_dir": tmp,
                "database_url": f"sqlite+aiosqlite:///{tmp}/quality.db",
                "secret_key": SECRET,
                "inprocess_worker": False,
                "webhook_poll_interval_s": 0.2,
                **overrides,
            }
        )
        await asyncio.to_thread(migrate.upgrade, settings)
        db = Database.of(settings)
        app = create_app(settings, database=db)
        stop = asyncio.Event()
        worker = asyncio.create_task(
            Worker(db=db, settings=settings, work=knowledge_jobs.WORK).run(stop)
        )
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=settings.public_url, timeout=120
            ) as client:
                yield client, db, settings
        finally:
            stop.set()
            await worker
            await db.dispose()


async def evaluate(
    configuration: Configuration, businesses: Sequence[Business], split: Split = "all"
) -> list[Outcome]:
    """Every selected message of every business, on a fresh database with these settings."""
    outcomes: list[Outcome] = []
    async with running_bob(configuration.overrides) as (client, db, settings):
        for business in businesses:
            tenant = await set_up(client, db, settings, business)
            for question in _selected(business, split):
                outcomes.append(await ask(client, tenant, question))
    return outcomes


# ---- the report ------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?。！？]+(?=\s|$)|[。！？]|\n+")


def sentence_count(text: str) -> int:
    return sum(1 for piece in _SENTENCE_END.split(text) if piece.strip(" \t-*|:"))


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _share(outcomes: Sequence[Outcome], outcome: str) -> str:
    return _percent(sum(1 for o in outcomes if o.outcome == outcome), len(outcomes))


def _count(outcomes: Sequence[Outcome], outcome: str) -> str:
    return f"{sum(1 for o in outcomes if o.outcome == outcome)}/{len(outcomes)}"


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _of(outcomes: Iterable[Outcome], category: str) -> list[Outcome]:
    return [o for o in outcomes if o.question.category == category]


def _language_order(language: str) -> tuple[int, str]:
    known = list(LANGUAGES)
    return (known.index(language) if language in known else len(known), language)


def _groups(outcomes: Sequence[Outcome]) -> list[tuple[str, list[Outcome]]]:
    groups = []
    for language in sorted({o.business.language for o in outcomes}, key=_language_order):
        mine = [o for o in outcomes if o.business.language == language]
        groups.append((LANGUAGES.get(language, language), mine))
    groups.append(("**all**", list(outcomes)))
    return groups


def _summary_row(name: str, label: str, outcomes: Sequence[Outcome]) -> str:
    answerable = _of(outcomes, "answerable")
    person = _of(outcomes, "person")
    answers = [o.reply for o in outcomes if not o.handoff]
    lengths = [len(reply) for reply in answers]
    sentences = [sentence_count(reply) for reply in answers]
    latencies = [o.latency_ms for o in outcomes]
    native = sum(1 for o in person if o.native_handoff)
    cells = [
        name,
        label,
        str(len(answerable)),
        _share(answerable, "correct"),
        _share(answerable, "wrong"),
        _share(answerable, "over_handoff"),
        _share(_of(outcomes, "unanswerable"), "handed_off"),
        f"{_count(person, 'handoff_sentence')} ({native} in their language)",
        _count(_of(outcomes, "injection"), "handed_off"),
        f"{statistics.median(lengths):.0f} / {max(lengths)}" if lengths else "-",
        f"{statistics.median(sentences):.0f} / {max(sentences)}" if sentences else "-",
        f"{_quantile(latencies, 0.5):.0f} / {_quantile(latencies, 0.95):.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


def _kinds_row(name: str, label: str, outcomes: Sequence[Outcome]) -> str:
    answerable = _of(outcomes, "answerable")
    cells = [name, label]
    for kind in ANSWERABLE_KINDS:
        mine = [o for o in answerable if kind in o.question.kinds]
        correct = sum(1 for o in mine if o.outcome == "correct")
        cells.append(f"{_percent(correct, len(mine))} ({correct}/{len(mine)})")
    return "| " + " | ".join(cells) + " |"


def _business_row(name: str, business: Business, outcomes: Sequence[Outcome]) -> str:
    answerable = _of(outcomes, "answerable")
    cells = [
        name,
        f"{business.name} ({business.kind}, {business.language})",
        _share(answerable, "correct"),
        _share(answerable, "wrong"),
        _share(answerable, "over_handoff"),
        _share(_of(outcomes, "unanswerable"), "handed_off"),
        _count(_of(outcomes, "person"), "handoff_sentence"),
        _count(_of(outcomes, "injection"), "handed_off"),
    ]
    return "| " + " | ".join(cells) + " |"


def report(
    results: dict[str, list[Outcome]], *, split: Split, seconds: float, businesses: int
) -> str:
    """The Markdown section: per configuration, per language and overall."""
    some = next(iter(results.values()), [])
    lines = [
        "## Answer quality",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python "
        f"{platform.python_version()}, in {seconds:.0f} s. {businesses} invented businesses "
        f"(bench/quality/data), {len(some)} labelled visitor messages (split `{split}`), each "
        "asked in a new session through door 3 on SQLite. Regenerate with "
        "`python -m bench quality`; see bench/quality/README.md for what the outcomes mean.",
        "",
        "**Outcomes.** Answerable: correct (answered, first source right, key facts in the "
        "reply), wrong (answered otherwise), over-handoff (handed over). Unanswerable and "
        "injections should be handed off; person requests should get the handoff sentence. "
        "Reply length counts answers only (median / max); latency is per message (p50 / p95).",
        "",
        "| configuration | language | answerable | correct | wrong | over-handoff | "
        "unanswerable handed off | person: handoff sentence | injections handed off | "
        "reply chars | reply sentences | latency ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, outcomes in results.items():
        for label, group in _groups(outcomes):
            lines.append(_summary_row(name, label, group))
        if split == "all":
            for part in ("dev", "test"):
                mine = [o for o in outcomes if o.question.split == part]
                lines.append(_summary_row(name, f"all, {part} split", mine))
    lines += [
        "",
        "**Answerable, correct by kind** (a message can have several kinds).",
        "",
        "| configuration | language | " + " | ".join(ANSWERABLE_KINDS) + " |",
        "|---|---|" + "---:|" * len(ANSWERABLE_KINDS),
    ]
    for name, outcomes in results.items():
        for label, group in _groups(outcomes):
            lines.append(_kinds_row(name, label, group))
    lines += [
        "",
        "**Per business.**",
        "",
        "| configuration | business | correct | wrong | over-handoff | unanswerable handed off "
        "| person: handoff sentence | injections handed off |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, outcomes in results.items():
        seen: dict[str, list[Outcome]] = {}
        for o in outcomes:
            seen.setdefault(o.business.id, []).append(o)
        for group in sorted(
            seen.values(), key=lambda g: (_language_order(g[0].business.language), g[0].business.id)
        ):
            lines.append(_business_row(name, group[0].business, group))
    return "\n".join(lines) + "\n"


def details(outcomes: Sequence[Outcome], *, only_bad: bool = True) -> str:
    """One line per message (by default only those without their good outcome)."""
    lines = []
    for o in outcomes:
        if o.good and only_bad:
            continue
        q = o.question
        reply = " ".join(o.reply.split())
        lines.append(
            f"[{o.business.id}] {o.outcome:<14} {q.text!r} kinds={','.join(q.kinds)} "
            f"want={','.join(q.answer_ids) or '-'} got={','.join(o.sources) or '-'} "
            f"reply={reply[:140]!r}"
        )
    return "\n".join(lines)


def measure(
    split: Split = "all", configurations: Sequence[Configuration] = CONFIGURATIONS
) -> tuple[str, dict[str, list[Outcome]]]:
    businesses = load_businesses()
    started = time.perf_counter()
    results = {c.name: asyncio.run(evaluate(c, businesses, split)) for c in configurations}
    seconds = time.perf_counter() - started
    return report(results, split=split, seconds=seconds, businesses=len(businesses)), results


def run() -> str:
    """The section `python -m bench` writes into bench/RESULTS.md."""
    return measure()[0]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quality.run", description=__doc__)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument(
        "--details", action="store_true", help="also list every message with a bad outcome"
    )
    args = parser.parse_args(argv)
    section, results = measure(args.split)
    print(section)
    if args.details:
        for name, outcomes in results.items():
            print(f"### {name}\n")
            print(details(outcomes))


if __name__ == "__main__":
    main()
