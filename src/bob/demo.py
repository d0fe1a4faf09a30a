"""`bob demo`: a platform admin and a demo business whose knowledge answers real questions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bob import audit, demo_platform
from bob.accounts import service as accounts
from bob.auth import service as auth
from bob.auth.permissions import Role
from bob.demo_shop import shop_origins
from bob.knowledge import service as knowledge
from bob.knowledge.models import KnowledgeItem
from bob.settings import Settings
from bob.tenants import service as tenants
from bob.tenants.models import Plan, Tenant
from bob.widget import service as widget

BUSINESS_ID = "demo-shop"
BUSINESS_NAME = "Demo Outdoor Shop"
ADMIN = ("admin@example.com", "bob-admin-demo-password")
OWNER = ("owner@demo-shop.example.com", "demo-owner-password")
AGENT = ("agent@demo-shop.example.com", "demo-agent-password")

KNOWLEDGE: list[tuple[str, str, list[str]]] = [
    (
        "When are you open?",
        "Our store at 12 Harbour Street, Lisbon is open Monday to Friday from 9:00 to 19:00 "
        "and on Saturday from 10:00 to 16:00. We are closed on Sundays and public holidays. "
        "The online shop takes orders at any time.",
        ["store"],
    ),
    (
        "How long does delivery take, and what does it cost?",
        "We ship to Portugal, Spain, France, Germany, Italy, the Netherlands and Poland. "
        "Standard delivery takes 2 to 4 business days and costs 4.90 euros; orders over 60 "
        "euros ship free. Express delivery arrives the next business day in Portugal and Spain "
        "and costs 9.90 euros. You get a tracking link by email as soon as your parcel leaves "
        "our warehouse.",
        ["orders"],
    ),
    (
        "Can I return or exchange something that doesn't fit?",
        "Changed your mind, or the size is wrong? You can return unused items within 30 days of "
        "delivery for a full refund, or exchange them for another size. Start a return from "
        "the Orders page of your account and print the free return label. Boots and shoes "
        "can be returned too, as long as they have not been worn outdoors. Refunds "
        "reach your original payment method within 5 business days after we receive the "
        "parcel. Worn or washed items and items without their tags cannot be returned.",
        ["orders"],
    ),
    (
        "What if something I bought is faulty?",
        "Tents, backpacks and sleeping bags have a 2-year warranty against manufacturing "
        "defects. Send a photo of the defect and your order number to "
        "support@demo-shop.example.com and we will repair or replace the item.",
        ["products"],
    ),
    (
        "Which payment methods do you accept?",
        "We accept Visa, Mastercard, American Express, PayPal, MB Way and Apple Pay. All prices "
        "include VAT. We never store your card details.",
        ["orders"],
    ),
    (
        "How do I choose my size?",
        "Our hiking boots run true to size; if you are between sizes, choose the larger size "
        "and wear thicker socks. Jackets use European sizes: S fits a chest of 88 to 96 cm, "
        "M 96 to 104 cm, L 104 to 112 cm and XL 112 to 120 cm.",
        ["products"],
    ),
    (
        "Can I rent camping gear?",
        "You can rent tents and camping stoves for a weekend trip: a 2-person tent costs 15 "
        "euros per weekend and a stove 5 euros, with a refundable deposit of 50 euros. Rentals "
        "are booked and collected in the store.",
        ["store"],
    ),
    (
        "How can I contact you?",
        "Phone: +351 21 000 0000, Monday to Friday from 9:00 to 18:00. Email: "
        "support@demo-shop.example.com. You can also ask here in the chat and a person from our "
        "team will answer.",
        ["store"],
    ),
    (
        "Qual o horário da loja e quanto tempo demora a entrega?",
        "A loja da Rua do Porto, 12, em Lisboa, abre de segunda a sexta das 9h às 19h e aos "
        "sábados das 10h às 16h. As entregas em Portugal demoram de 2 a 4 dias úteis e são "
        "grátis em encomendas acima de 60 euros.",
        ["pt"],
    ),
    (
        "Posso alugar material de campismo?",
        "Sim: alugamos tendas e fogareiros para o fim de semana. Uma tenda para 2 pessoas custa "
        "15 euros por fim de semana e um fogareiro 5 euros, com uma caução de 50 euros que "
        "devolvemos no fim. O aluguer é reservado e levantado na loja.",
        ["pt"],
    ),
    (
        "営業時間を教えてください",
        "店舗の営業時間は月曜日から金曜日の9時から19時、土曜日は10時から16時です。日曜日と祝日は"
        "休業です。",
        ["ja"],
    ),
    (
        "配送にはどのくらいかかりますか？",  # noqa: RUF001
        "配送は通常2〜4営業日でお届けします。60ユーロ以上のご注文は送料無料です。",
        ["ja"],
    ),
]


async def ensure_demo(*, session: AsyncSession, settings: Settings) -> Tenant:
    """Idempotent: a second run keeps one demo business with the same logins and knowledge."""
    await auth.ensure_platform_admin(
        session=session, settings=settings, email=ADMIN[0], password=ADMIN[1], actor=audit.CLI
    )
    tenant = await session.scalar(select(Tenant).where(Tenant.business_id == BUSINESS_ID))
    if tenant is None:
        created = await accounts.create_tenant(
            session=session,
            actor=audit.CLI,
            name=BUSINESS_NAME,
            business_id=BUSINESS_ID,
            plan=Plan.PRO,
            owner_email=OWNER[0],
            owner_password=OWNER[1],
            owner_name="Demo Owner",
        )
        tenant = created.tenant
        await accounts.add_member(
            session=session,
            tenant_id=tenant.id,
            actor=audit.CLI,
            actor_role=Role.OWNER,
            email=AGENT[0],
            role=Role.AGENT,
            name="Demo Agent",
            password=AGENT[1],
        )
    has_knowledge = await session.scalar(
        select(func.count()).select_from(KnowledgeItem).where(KnowledgeItem.tenant_id == tenant.id)
    )
    if not has_knowledge:
        for title, content, tags in KNOWLEDGE:
            await knowledge.create_item(
                session=session,
                settings=settings,
                tenant_id=tenant.id,
                actor=audit.CLI,
                title=title,
                content=content,
                tags=tags,
            )
    key = await widget.primary_key(session=session, tenant_id=tenant.id)
    wanted = sorted(
        set(shop_origins(settings.demo_shop_port)) | set(key.allowed_origins if key else [])
    )
    if key is not None and wanted != key.allowed_origins:
        await widget.update_key(
            session=session,
            tenant_id=tenant.id,
            actor=audit.CLI,
            key_id=key.id,
            label=None,
            allowed_origins=wanted,
        )
    platform = await tenants.get_tenant_by_business_id(
        session=session, business_id=settings.platform_business_id
    )
    await demo_platform.ensure_platform_knowledge(
        session=session, settings=settings, tenant=platform
    )
    return tenant
