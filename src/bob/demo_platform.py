"""What the platform's own Bob knows about Bob (`bob demo`): the chat page at / and the door-1
snippet with the platform's business id answer from it.

The plans are written from the published pricebook (billing/plans_knowledge.py; publishing a
new version rewrites them); the other items are written once and are the platform admins' to
edit in Mission Control.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit
from bob.billing import plans_knowledge, pricebook
from bob.knowledge import service as knowledge
from bob.knowledge.models import KnowledgeItem
from bob.settings import Settings
from bob.tenants.models import Tenant

TAG = "about-bob"


@dataclass(frozen=True)
class Item:
    title: str
    content: str
    tags: tuple[str, ...] = (TAG,)


ABOUT = [
    Item(
        "What is Bob?",
        "Bob is an AI front office for your website. Visitors chat with Bob in a small window on "
        "your pages, and Bob answers them from your own content (your knowledge), in your "
        "business's voice (its persona), within the limits you set. When Bob is not sure, or a "
        "visitor asks for a person, Bob hands the conversation to your team in the operator "
        "console. Every change is written to a tamper-evident audit log, and webhooks tell your "
        "other systems what happened.",
    ),
    Item(
        "How do I add Bob to my website?",
        "Sign up at /portal/signup; your business gets a widget key at once. Add what Bob should "
        "know under Knowledge (type it or import a file), give Bob a voice under Persona, then "
        "open Widget Setup: add your site's address (for example https://www.example.com) to the "
        "allowed origins and copy the embed code, one script tag, into your pages just before "
        "</body>. The widget appears on the next page load. The guide at /docs/widget explains "
        "every option.",
    ),
    Item(
        "How do I sign up for Bob?",
        "Open /portal/signup, enter your business's name, your email and a password, and choose a "
        "plan. You are logged in to the Customer Portal right away, with a widget key, a default "
        "persona and your plan's AI credits for the month.",
    ),
    Item(
        "What is an AI credit?",
        "AI credits pay for Bob's answers. With Bob's own answer engine an answered visitor "
        "message costs 1 credit; with a language-model engine a reply costs credits by the "
        "tokens it uses. A question Bob hands to your team costs nothing. Each plan includes a "
        "number of credits every month, and the portal warns you when they run low.",
    ),
    Item(
        "What are Bob's three chat doors?",
        "Bob can be reached through three doors. Door 1, POST /api/chat, is for pages on the "
        "same site as Bob, with your business_id in the body. Door 2, POST /api/widget/chat, is "
        "the widget on your own site: it needs your widget key and a page from an allowed "
        "origin. Door 3, POST /api/chat/session and POST /api/chat/message, is for logged-in "
        "apps and Mission Control, with a Bearer token or the session cookie and its CSRF token. "
        "All three run the same pipeline and are explained at /docs/chat.",
    ),
    Item(
        "Where is Bob's documentation?",
        "The guides are at /docs (also in Portuguese at /pt-BR/docs and Japanese at /ja/docs). "
        "The API reference is at /docs/api, and the machine-readable OpenAPI schema at "
        "/api/openapi.json.",
    ),
    Item(
        "Can I host Bob myself, on my own server?",
        "Yes. Bob is self-hostable: one command starts it with an embedded SQLite database, and "
        "in production it runs on PostgreSQL with Redis. One installation serves many "
        "businesses, each with its own knowledge, persona, widget, team and plan; the people "
        "who run the installation use Mission Control.",
    ),
    Item(
        "Which languages does Bob speak?",
        "Bob answers visitors in the language they write in, from knowledge in any language: its "
        "retrieval understands questions asked in other words or in another language than the "
        "text. Its own sentences (greetings, handoffs) come in nine languages, and the Customer "
        "Portal is in English, Portuguese and Japanese.",
    ),
    Item(
        "How does Bob hand a conversation to a person?",
        "When nothing in your knowledge answers a question well enough, or a visitor asks for a "
        "person, Bob tells the visitor that someone from the team will reply and marks the "
        "conversation as waiting. Your team sees it at once in the operator console, takes it "
        "over, replies, and can hand it back to Bob or close it.",
    ),
]


async def ensure_platform_knowledge(
    *, session: AsyncSession, settings: Settings, tenant: Tenant
) -> None:
    """Idempotent: the items about Bob once, the plans as the published pricebook has them."""
    existing = set(
        await session.scalars(
            select(KnowledgeItem.title).where(KnowledgeItem.tenant_id == tenant.id)
        )
    )
    for item in ABOUT:
        if item.title not in existing:
            await knowledge.create_item(
                session=session,
                settings=settings,
                tenant_id=tenant.id,
                actor=audit.CLI,
                title=item.title,
                content=item.content,
                tags=list(item.tags),
            )
    await plans_knowledge.refresh(
        session=session,
        settings=settings,
        actor=audit.CLI,
        tenant=tenant,
        version=await pricebook.published_version(session=session),
        create=True,
    )
