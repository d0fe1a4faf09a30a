"""The Knowledge, Persona and Widget Setup pages: what they show, what their forms store through
the services, and what they refuse (CSRF, bad input, another tenant's ids, missing permission)."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from bob import audit
from bob.auth.permissions import Role
from bob.billing import metering, subscriptions
from bob.billing.models import CreditEntry
from bob.chat.models import Conversation
from bob.db.session import Database
from bob.engines import service as engines
from bob.knowledge import service as knowledge
from bob.knowledge.models import KnowledgeItem
from bob.personas import service as personas
from bob.settings import Settings
from bob.tenants.models import Tenant
from bob.widget import service as widget
from bob.widget.models import WidgetKey
from tests.factories import make_member, make_tenant
from tests.integration.portal.conftest import Pages

FACT_TITLE = "Canoe rental"
FACT = "Canoes rent for 45 euros a day, paddles and life jackets included."


@dataclass
class Shop:
    tenant_id: uuid.UUID
    email: str


@pytest.fixture
async def shop(db: Database, settings: Settings) -> Shop:
    made = await make_tenant(db, settings)
    return Shop(made.tenant.id, made.owner_email)


@pytest.fixture
async def owner(pages: Pages, shop: Shop) -> Pages:
    await pages.login(shop.email)
    return pages


async def add_item(
    db: Database, settings: Settings, tenant_id: uuid.UUID, title: str, content: str
) -> uuid.UUID:
    async with db.transaction() as session:
        item = await knowledge.create_item(
            session=session,
            settings=settings,
            tenant_id=tenant_id,
            actor=audit.CLI,
            title=title,
            content=content,
        )
        return item.id


async def titles(db: Database, tenant_id: uuid.UUID) -> list[str]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(KnowledgeItem.title).where(KnowledgeItem.tenant_id == tenant_id)
        )
        return sorted(rows)


async def primary(db: Database, tenant_id: uuid.UUID) -> WidgetKey:
    async with db.transaction() as session:
        key = await widget.primary_key(session=session, tenant_id=tenant_id)
        assert key is not None
        return key


async def keys(db: Database, tenant_id: uuid.UUID) -> list[WidgetKey]:
    async with db.transaction() as session:
        return await widget.list_keys(session=session, tenant_id=tenant_id)


async def credits_used(db: Database, tenant_id: uuid.UUID) -> int:
    async with db.transaction() as session:
        return (await metering.usage(session=session, tenant_id=tenant_id)).used


def reply_of(response: httpx.Response) -> str:
    match = re.search(r'data-testid="preview-reply">(.*?)</div>', response.text, re.S)
    assert match, "the page shows no reply"
    return html.unescape(match.group(1))


def text_of(response: httpx.Response, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', response.text, re.S)
    assert match, f"no #{element_id} on the page"
    return html.unescape(match.group(1))


# ---- knowledge ----------------------------------------------------------------------------


async def test_knowledge_lists_filters_and_pages(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    for n in range(26):
        await add_item(db, settings, shop.tenant_id, f"Topic {n:02d}", f"About topic {n}.")
    await add_item(db, settings, shop.tenant_id, FACT_TITLE, FACT)

    first = await owner.get("/portal/knowledge")
    assert first.status_code == 200
    assert FACT_TITLE in first.text  # newest first
    assert "Topic 00" not in first.text
    older = re.search(r'href="(/portal/knowledge\?cursor=[^"]+)" rel="next"', first.text)
    assert older, "a second page is offered"
    second = await owner.get(html.unescape(older.group(1)))
    assert second.status_code == 200
    assert "Topic 00" in second.text
    assert FACT_TITLE not in second.text

    filtered = await owner.get("/portal/knowledge", params={"q": "canoe"})
    assert FACT_TITLE in filtered.text
    assert "Topic 01" not in filtered.text


async def test_add_edit_and_delete_an_item(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    assert (await owner.get("/portal/knowledge/new")).status_code == 200
    added = await owner.post(
        "/portal/knowledge",
        {"title": FACT_TITLE, "content": FACT, "tags": "boats, summer", "source_url": ""},
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/portal/knowledge"
    listed = await owner.get("/portal/knowledge")
    assert f"Added “{FACT_TITLE}”." in listed.text
    async with db.transaction() as session:
        page = await knowledge.list_items(
            session=session, tenant_id=shop.tenant_id, limit=5, cursor=None
        )
    [item] = page.items
    assert (item.title, item.content, item.tags) == (FACT_TITLE, FACT, ["boats", "summer"])

    edit = await owner.get(f"/portal/knowledge/{item.id}")
    assert edit.status_code == 200
    assert 'value="boats, summer"' in edit.text
    saved = await owner.post(
        f"/portal/knowledge/{item.id}",
        {
            "title": "Kayak rental",
            "content": "Kayaks rent for 30 euros a day.",
            "tags": "",
            "source_url": "https://trail.example.com/rent",
        },
    )
    assert saved.status_code == 303
    async with db.transaction() as session:
        stored = await knowledge.get_item(
            session=session, tenant_id=shop.tenant_id, item_id=item.id
        )
        assert (stored.title, stored.tags, stored.source_url) == (
            "Kayak rental",
            [],
            "https://trail.example.com/rent",
        )
        passages = await knowledge.retrieve(
            session=session, tenant_id=shop.tenant_id, query="kayak price"
        )
    assert passages
    assert passages[0].item_id == item.id  # re-indexed for search

    await owner.get(f"/portal/knowledge/{item.id}")
    deleted = await owner.post(f"/portal/knowledge/{item.id}/delete")
    assert deleted.status_code == 303
    assert await titles(db, shop.tenant_id) == []


async def test_bad_item_input_shows_the_form_again_and_stores_nothing(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    await owner.get("/portal/knowledge/new")
    blank = await owner.post("/portal/knowledge", {"title": "   ", "content": FACT})
    assert blank.status_code == 422
    assert "title: must not be blank" in blank.text
    assert FACT in blank.text  # what was typed is still there
    bad_url = await owner.post(
        "/portal/knowledge", {"title": FACT_TITLE, "content": FACT, "source_url": "ftp://x"}
    )
    assert bad_url.status_code == 422
    assert "source_url" in bad_url.text
    assert await titles(db, shop.tenant_id) == []

    item_id = await add_item(db, settings, shop.tenant_id, FACT_TITLE, FACT)
    await owner.get(f"/portal/knowledge/{item_id}")
    refused = await owner.post(
        f"/portal/knowledge/{item_id}", {"title": "", "content": "Something new entirely."}
    )
    assert refused.status_code == 422
    assert "title: must not be blank" in refused.text
    assert "Something new entirely." in refused.text
    async with db.transaction() as session:
        item = await knowledge.get_item(session=session, tenant_id=shop.tenant_id, item_id=item_id)
        assert (item.title, item.content) == (FACT_TITLE, FACT)


async def test_knowledge_forms_without_the_csrf_token_change_nothing(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    item_id = await add_item(db, settings, shop.tenant_id, FACT_TITLE, FACT)
    await owner.get("/portal/knowledge")
    for path, data in [
        ("/portal/knowledge", {"title": "Sneaky", "content": "Added without a token."}),
        (f"/portal/knowledge/{item_id}", {"title": "Renamed", "content": FACT}),
        (f"/portal/knowledge/{item_id}/delete", {}),
    ]:
        response = await owner.post(path, data, csrf=False)
        assert response.status_code == 403, path
        assert "Reload it and try again" in response.text
    upload = await owner.client.post(
        "/portal/knowledge/import",
        files={"file": ("faq.csv", b"question,answer\nSneaky?,Yes.\n", "text/csv")},
    )
    assert upload.status_code == 403
    assert await titles(db, shop.tenant_id) == [FACT_TITLE]


async def test_import_adds_every_item_or_none(owner: Pages, shop: Shop, db: Database) -> None:
    assert (await owner.get("/portal/knowledge/import")).status_code == 200
    csv = "question,answer\nDo you rent canoes?,Yes: 45 euros a day.\nDo you ship?,Across the EU.\n"
    imported = await owner.post(
        "/portal/knowledge/import", files={"file": ("faq.csv", csv.encode(), "text/csv")}
    )
    assert imported.status_code == 303
    assert "Imported 2 items from faq.csv." in (await owner.get("/portal/knowledge")).text
    assert await titles(db, shop.tenant_id) == ["Do you rent canoes?", "Do you ship?"]

    markdown = b"# Store hours\n\nOpen daily from 8 to 20.\n"
    response = await owner.post(
        "/portal/knowledge/import", files={"file": ("hours.md", markdown, "text/markdown")}
    )
    assert response.status_code == 303
    assert "Store hours" in await titles(db, shop.tenant_id)

    for name, body, message in [
        ("brochure.pdf", b"%PDF-1.4", "not a supported type"),
        ("broken.csv", b"question,answer\nOne?,Two,Three\n", "row 2 has 3 columns"),
        ("items.json", b'{"items": []}', "empty"),
    ]:
        refused = await owner.post(
            "/portal/knowledge/import", files={"file": (name, body, "application/octet-stream")}
        )
        assert refused.status_code == 422, name
        assert message in refused.text, name
        assert 'type="file"' in refused.text  # the form is there to try again
    missing = await owner.post("/portal/knowledge/import", {})
    assert missing.status_code == 422
    assert len(await titles(db, shop.tenant_id)) == 3


async def test_another_tenants_item_is_not_found(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    other = await make_tenant(db, settings)
    theirs = await add_item(db, settings, other.tenant.id, "Their secret", "Not for you.")
    await owner.get("/portal/knowledge")
    assert (await owner.get(f"/portal/knowledge/{theirs}")).status_code == 404
    update = await owner.post(f"/portal/knowledge/{theirs}", {"title": "Mine", "content": "Mine"})
    assert update.status_code == 404
    assert (await owner.post(f"/portal/knowledge/{theirs}/delete")).status_code == 404
    assert await titles(db, other.tenant.id) == ["Their secret"]


async def test_preview_shows_the_passages_and_the_answer_and_charges_like_a_reply(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    await add_item(db, settings, shop.tenant_id, FACT_TITLE, FACT)
    await add_item(db, settings, shop.tenant_id, "Returns", "Unused items: 30 days to return.")
    page = await owner.get("/portal/knowledge")
    assert "uses 1 AI credit" in page.text  # said before it is spent
    before = await credits_used(db, shop.tenant_id)

    response = await owner.post(
        "/portal/knowledge/preview", {"question": "How much is a canoe rental?"}
    )
    assert response.status_code == 200
    assert "45 euros a day" in reply_of(response)
    passages = response.text.split("Passages Bob found, best first")[1]
    assert FACT in html.unescape(passages)
    assert "Credits used by this preview: 1" in response.text
    assert await credits_used(db, shop.tenant_id) == before + 1
    async with db.transaction() as session:
        conversations = await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.tenant_id == shop.tenant_id)
        )
        reasons = list(
            await session.scalars(
                select(CreditEntry.reason).where(
                    CreditEntry.tenant_id == shop.tenant_id, CreditEntry.kind == "usage"
                )
            )
        )
    assert conversations == 0
    assert reasons == ["Answer preview"]

    unknown = await owner.post(
        "/portal/knowledge/preview", {"question": "Do you sell bicycles downtown?"}
    )
    assert unknown.status_code == 200
    assert "Bob would hand over" in unknown.text
    assert "This preview used no AI credits." in unknown.text
    assert await credits_used(db, shop.tenant_id) == before + 1

    empty = await owner.post("/portal/knowledge/preview", {"question": "  "})
    assert empty.status_code == 422
    assert "message: must not be empty" in empty.text
    assert (
        await owner.post("/portal/knowledge/preview", {"question": "x"}, csrf=False)
    ).status_code == 403


async def test_preview_out_of_credits_does_not_run_the_engine_or_charge(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    await add_item(db, settings, shop.tenant_id, FACT_TITLE, FACT)
    async with db.transaction() as session:
        left = (await metering.usage(session=session, tenant_id=shop.tenant_id)).remaining
        await subscriptions.adjust_credits(
            session=session,
            actor=audit.CLI,
            tenant_id=shop.tenant_id,
            delta=-left,
            reason="test: use everything up",
        )
    await owner.get("/portal/knowledge")
    response = await owner.post(
        "/portal/knowledge/preview", {"question": "How much is a canoe rental?"}
    )
    assert response.status_code == 200
    assert "No AI credits left" in response.text
    assert "45 euros" not in reply_of(response)
    assert FACT_TITLE in response.text  # the passages are still shown
    assert "This preview used no AI credits." in response.text
    async with db.transaction() as session:
        assert (await metering.usage(session=session, tenant_id=shop.tenant_id)).remaining == 0


# ---- persona ------------------------------------------------------------------------------


async def default_persona(db: Database, tenant_id: uuid.UUID) -> tuple[str, str, str, str]:
    async with db.transaction() as session:
        p = await personas.get_default(session=session, tenant_id=tenant_id)
        assert p is not None
        return p.name, p.description, p.tone, p.system_prompt


async def test_persona_page_edits_the_default_persona(
    owner: Pages, shop: Shop, db: Database
) -> None:
    page = await owner.get("/portal/persona")
    assert page.status_code == 200
    assert 'value="Bob"' in page.text
    async with db.transaction() as session:
        persona = await personas.get_default(session=session, tenant_id=shop.tenant_id)
        assert persona is not None
    saved = await owner.post(
        f"/portal/persona/{persona.id}",
        {
            "persona_id": str(persona.id),
            "name": "  Ana  ",
            "description": "The outfitters' guide.",
            "tone": "warm and brief",
            "system_prompt": "Recommend the guided tours when it fits.",
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/portal/persona"
    assert await default_persona(db, shop.tenant_id) == (
        "Ana",
        "The outfitters' guide.",
        "warm and brief",
        "Recommend the guided tours when it fits.",
    )
    assert "Saved the persona “Ana”." in (await owner.get("/portal/persona")).text


async def test_bad_persona_input_is_refused_and_nothing_changes(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    before = await default_persona(db, shop.tenant_id)
    async with db.transaction() as session:
        persona = await personas.get_default(session=session, tenant_id=shop.tenant_id)
        assert persona is not None
    await owner.get("/portal/persona")
    fields = {"name": "Ana", "description": "Typed and kept.", "tone": "", "system_prompt": ""}
    for change, where in [({"name": "   "}, "name"), ({"tone": "x" * 201}, "tone")]:
        response = await owner.post(f"/portal/persona/{persona.id}", {**fields, **change})
        assert response.status_code == 422, where
        assert f"{where}:" in response.text
        assert "Typed and kept." in response.text
    no_token = await owner.post(f"/portal/persona/{persona.id}", fields, csrf=False)
    assert no_token.status_code == 403
    assert await default_persona(db, shop.tenant_id) == before

    other = await make_tenant(db, settings)
    async with db.transaction() as session:
        theirs = await personas.get_default(session=session, tenant_id=other.tenant.id)
        assert theirs is not None
    assert (await owner.post(f"/portal/persona/{theirs.id}", fields)).status_code == 404
    assert (await owner.get(f"/portal/persona?id={theirs.id}")).status_code == 404
    assert (await owner.post(f"/portal/persona/{theirs.id}/default")).status_code == 404
    assert (await default_persona(db, other.tenant.id))[0] == "Bob"


async def test_persona_preview_uses_the_unsaved_values(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    await add_item(db, settings, shop.tenant_id, FACT_TITLE, FACT)
    before = await default_persona(db, shop.tenant_id)
    await owner.get("/portal/persona")
    response = await owner.post(
        "/portal/persona/preview",
        {
            "name": "Ana",
            "description": "",
            "tone": "formal",
            "system_prompt": "",
            "question": "How much is a canoe rental?",
        },
    )
    assert response.status_code == 200
    assert "Ana would answer" in response.text
    assert "45 euros a day" in reply_of(response)
    assert 'value="Ana"' in response.text  # the form keeps the unsaved values
    assert await default_persona(db, shop.tenant_id) == before

    refused = await owner.post(
        "/portal/persona/preview", {"name": "", "question": "How much is a canoe rental?"}
    )
    assert refused.status_code == 422
    assert "name:" in refused.text


async def test_other_personas_are_listed_and_one_can_become_the_default(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    tenant = await tenant_of(db, shop.tenant_id)
    async with db.transaction() as session:
        guide = await personas.create_persona(
            session=session,
            tenant=tenant,
            actor=audit.CLI,
            name="Trail guide",
            description="",
            tone="formal",
            system_prompt="",
        )
    page = await owner.get("/portal/persona")
    assert "Trail guide" in page.text
    assert "Make default" in page.text
    response = await owner.post(f"/portal/persona/{guide.id}/default")
    assert response.status_code == 303
    assert (await default_persona(db, shop.tenant_id))[0] == "Trail guide"


async def tenant_of(db: Database, tenant_id: uuid.UUID) -> Tenant:
    async with db.transaction() as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        return tenant


# ---- widget -------------------------------------------------------------------------------


async def test_widget_page_shows_the_same_tag_as_the_api(owner: Pages, shop: Shop) -> None:
    page = await owner.get("/portal/widget")
    assert page.status_code == 200
    api = await owner.client.get("/api/customer-portal/widget-code")
    assert api.status_code == 200
    assert text_of(page, "embed-code") == api.json()["script_tag"]
    assert 'data-copy="#embed-code"' in page.text
    assert "No address is allowed yet" in page.text
    assert 'role="alert"' not in page.text  # no error shown before anything was sent
    assert '<details class="new-key">' in page.text  # the key form starts closed
    # The widget's own languages do not replace the page's language switch.
    assert 'hreflang="ja"' in page.text
    assert 'hreflang="de"' not in page.text


async def test_origins_are_added_and_removed_and_bad_ones_refused(
    owner: Pages, shop: Shop, db: Database
) -> None:
    await owner.get("/portal/widget")
    added = await owner.post("/portal/widget/origins", {"origin": "HTTPS://Shop.Example.com/"})
    assert added.status_code == 303
    assert (await primary(db, shop.tenant_id)).allowed_origins == ["https://shop.example.com"]
    assert "Allowed https://shop.example.com" in (await owner.get("/portal/widget")).text

    for bad, message in [
        ("ftp://x", "must start with http:// or https://"),
        ("https://*", "has no valid host"),
        ("https://*.com", "too broad"),
    ]:
        refused = await owner.post("/portal/widget/origins", {"origin": bad})
        assert refused.status_code == 422, bad
        assert message in html.unescape(refused.text), bad
        assert f'value="{html.escape(bad)}"' in refused.text  # what was typed stays
    no_token = await owner.post(
        "/portal/widget/origins", {"origin": "https://evil.example.com"}, csrf=False
    )
    assert no_token.status_code == 403
    assert (await primary(db, shop.tenant_id)).allowed_origins == ["https://shop.example.com"]

    await owner.get("/portal/widget")
    removed = await owner.post(
        "/portal/widget/origins/remove", {"origin": "https://shop.example.com"}
    )
    assert removed.status_code == 303
    assert (await primary(db, shop.tenant_id)).allowed_origins == []


async def test_keys_are_created_rotated_and_revoked_and_shown_once(
    owner: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    await owner.get("/portal/widget")
    created = await owner.post(
        "/portal/widget/keys", {"label": "Blog", "allowed_origins": "https://blog.example.com"}
    )
    assert created.status_code == 303
    blog = next(k for k in await keys(db, shop.tenant_id) if k.label == "Blog")
    assert blog.allowed_origins == ["https://blog.example.com"]
    assert not blog.is_primary
    shown = await owner.get("/portal/widget")
    assert text_of(shown, "new-key") == blog.key
    again = await owner.get("/portal/widget")
    assert blog.key not in again.text  # once only
    assert f"pk_live_…{blog.key[-4:]}" in again.text

    rotated = await owner.post(f"/portal/widget/keys/{blog.id}/rotate")
    assert rotated.status_code == 303
    new_value = next(k.key for k in await keys(db, shop.tenant_id) if k.id == blog.id)
    assert new_value != blog.key
    assert text_of(await owner.get("/portal/widget"), "new-key") == new_value

    revoked = await owner.post(f"/portal/widget/keys/{blog.id}/revoke")
    assert revoked.status_code == 303
    assert next(k for k in await keys(db, shop.tenant_id) if k.id == blog.id).status == "revoked"

    main = await primary(db, shop.tenant_id)
    refused = await owner.post(f"/portal/widget/keys/{main.id}/revoke")
    assert refused.status_code == 409
    assert "rotate it instead" in refused.text
    assert (await primary(db, shop.tenant_id)).key == main.key

    count = len(await keys(db, shop.tenant_id))
    bad = await owner.post("/portal/widget/keys", {"label": "Shop", "allowed_origins": "ftp://x"})
    assert bad.status_code == 422
    assert "must start with http:// or https://" in bad.text
    assert len(await keys(db, shop.tenant_id)) == count
    no_token = await owner.post("/portal/widget/keys", {"label": "Sneaky"}, csrf=False)
    assert no_token.status_code == 403
    assert len(await keys(db, shop.tenant_id)) == count

    other = await make_tenant(db, settings)
    theirs = await primary(db, other.tenant.id)
    assert (await owner.post(f"/portal/widget/keys/{theirs.id}/rotate")).status_code == 404
    assert (await owner.post(f"/portal/widget/keys/{theirs.id}/revoke")).status_code == 404
    assert (await primary(db, other.tenant.id)).key == theirs.key


async def test_appearance_is_saved_and_bad_values_refused(
    owner: Pages, shop: Shop, db: Database
) -> None:
    await owner.get("/portal/widget")
    look = {
        "position": "bottom-left",
        "color": "#1A7F37",
        "language": "pt",
        "launcher_label": "Fale conosco",
        "open_on_load": "true",
        "greeting_pt": "Olá! Posso ajudar com trilhas?",
        "greeting_en": "",
    }
    saved = await owner.post("/portal/widget/appearance", look)
    assert saved.status_code == 303
    async with db.transaction() as session:
        stored = await widget.get_appearance(session=session, tenant_id=shop.tenant_id)
    assert stored == widget.Appearance(
        "bottom-left",
        "#1a7f37",
        "Fale conosco",
        True,
        "pt",
        {"pt": "Olá! Posso ajudar com trilhas?"},
    )
    page = await owner.get("/portal/widget")
    assert 'value="Olá! Posso ajudar com trilhas?"' in page.text
    assert 'id="widget-preview"' in page.text

    for change, message in [
        ({"color": "blue"}, "color: must be a hex colour"),
        ({"position": "top"}, "position: must be bottom-right or bottom-left"),
        ({"launcher_label": "x" * 41}, "launcher_label: at most 40 characters"),
        ({"greeting_en": "y" * 501}, "greeting.en"),
    ]:
        typed = {**look, "greeting_pt": "Digitado, não salvo.", **change}
        refused = await owner.post("/portal/widget/appearance", typed)
        assert refused.status_code == 422, change
        assert message in refused.text, change
        assert 'value="Digitado, não salvo."' in refused.text  # what was typed stays
    no_token = await owner.post(
        "/portal/widget/appearance", {**look, "color": "#000000"}, csrf=False
    )
    assert no_token.status_code == 403
    async with db.transaction() as session:
        assert await widget.get_appearance(session=session, tenant_id=shop.tenant_id) == stored


# ---- who may open them --------------------------------------------------------------------

PAGES = ["/portal/knowledge", "/portal/persona", "/portal/widget"]


async def test_each_page_needs_its_permission(
    pages: Pages, shop: Shop, db: Database, settings: Settings
) -> None:
    tenant = await tenant_of(db, shop.tenant_id)
    viewer = await make_member(db, settings, tenant, Role.VIEWER)
    await pages.login(viewer.email)
    for path, permission in zip(
        PAGES, ["knowledge.manage", "persona.manage", "widget.manage"], strict=True
    ):
        response = await pages.get(path)
        assert response.status_code == 403, path
        assert permission in response.text
    refused = await pages.post("/portal/knowledge", {"title": "By a viewer", "content": "No."})
    assert refused.status_code == 403
    origin = await pages.post("/portal/widget/origins", {"origin": "https://x.example.com"})
    assert origin.status_code == 403
    assert await titles(db, shop.tenant_id) == []
    assert (await primary(db, shop.tenant_id)).allowed_origins == []

    await pages.post("/portal/logout")
    agent = await make_member(db, settings, tenant, Role.AGENT)
    await pages.login(agent.email)
    # Agents keep the knowledge current but do not set up the widget or the persona.
    assert (await pages.get("/portal/knowledge")).status_code == 200
    assert (await pages.get("/portal/persona")).status_code == 403
    assert (await pages.get("/portal/widget")).status_code == 403


@pytest.mark.parametrize("language", ["pt-BR", "ja"])
async def test_pages_render_in_every_language(owner: Pages, language: str) -> None:
    for path in PAGES:
        response = await owner.get(f"{path}?lang={language}")
        assert response.status_code == 200, path
        assert f'<html lang="{language}">' in response.text
    # Every text of these pages is translated: the English headings are gone.
    for path, english in [
        ("/portal/knowledge", "What would Bob answer?"),
        ("/portal/persona", "Preview a reply"),
        ("/portal/widget", "Choose how it looks"),
    ]:
        assert english not in (await owner.get(f"{path}?lang={language}")).text, path


async def test_strictness_is_chosen_on_the_persona_page_and_audited(
    owner: Pages, shop: Shop, db: Database
) -> None:
    page = await owner.get("/portal/persona")
    assert 'name="strictness"' in page.text
    assert '<option value="balanced" selected>' in page.text
    saved = await owner.post("/portal/persona/strictness", {"strictness": "strict"})
    assert saved.status_code == 303
    page = await owner.get(saved.headers["location"])
    assert '<option value="strict" selected>' in page.text
    refused = await owner.post("/portal/persona/strictness", {"strictness": "reckless"})
    assert refused.status_code == 422
    assert "strictness must be one of" in refused.text
    async with db.transaction() as session:
        assert await engines.strictness_for(session=session, tenant_id=shop.tenant_id) == "strict"
        entries = await audit.list_entries(
            session=session,
            tenant_id=shop.tenant_id,
            limit=5,
            cursor=None,
            action="engine.updated",
        )
        assert [e.data for e in entries.items] == [{"strictness": "strict"}]
    without_token = await owner.post(
        "/portal/persona/strictness", {"strictness": "helpful"}, csrf=False
    )
    assert without_token.status_code == 403
    async with db.transaction() as session:
        assert await engines.strictness_for(session=session, tenant_id=shop.tenant_id) == "strict"
