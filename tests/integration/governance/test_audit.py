from __future__ import annotations

import httpx
from sqlalchemy import select, update

from bob import audit
from bob.audit import AuditEntry
from bob.auth.permissions import Role
from bob.db.session import Database
from bob.settings import Settings
from tests.factories import PASSWORD, bearer, make_admin, make_member, make_tenant


async def test_api_actions_are_audited_with_who_what_and_where(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    owner = await bearer(client, made.owner_email)
    added = await client.post(
        "/api/customers/team",
        json={"email": "audited@example.com", "role": "agent", "password": PASSWORD},
        headers={**owner, "X-Request-ID": "req-audit-1"},
    )
    member_id = added.json()["id"]
    await client.patch(f"/api/customers/team/{member_id}", json={"role": "viewer"}, headers=owner)
    await client.delete(f"/api/customers/team/{member_id}", headers=owner)

    log = await client.get("/api/audit", headers=owner)
    assert log.status_code == 200
    entries = log.json()["items"]
    actions = [e["action"] for e in entries]
    # Newest first.
    assert actions[:5] == [
        "team.member_removed",
        "team.member_updated",
        "team.member_added",
        "auth.login",
        "tenant.created",
    ]
    added_entry = entries[2]
    assert added_entry["actor_label"] == made.owner_email
    assert added_entry["actor_id"] == str(made.owner.id)
    assert added_entry["target_id"] == member_id
    assert added_entry["request_id"] == "req-audit-1"
    assert added_entry["ip"] == "203.0.113.7"
    assert added_entry["data"]["role"] == "agent"
    assert entries[1]["data"]["role"] == ["agent", "viewer"]

    filtered = await client.get("/api/audit", params={"action": "auth.login"}, headers=owner)
    assert {e["action"] for e in filtered.json()["items"]} == {"auth.login"}


async def test_audit_log_is_tenant_scoped_and_needs_audit_read(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    a = await make_tenant(db, settings)
    b = await make_tenant(db, settings)
    b_owner = await bearer(client, b.owner_email)
    a_owner = await bearer(client, a.owner_email)
    a_log = (await client.get("/api/audit", headers=a_owner)).json()["items"]
    assert all(b.owner_email not in str(e) for e in a_log)
    assert len((await client.get("/api/audit", headers=b_owner)).json()["items"]) >= 2

    viewer = await make_member(db, settings, a.tenant, Role.VIEWER)
    refused = await client.get("/api/audit", headers=await bearer(client, viewer.email))
    assert refused.status_code == 403
    admin = await make_admin(db, settings)
    # A platform admin reads the platform tenant's log, never a business's.
    as_platform = await client.get(
        "/api/audit", headers=await bearer(client, admin.email, admin=True)
    )
    assert as_platform.status_code == 200
    assert all(a.owner_email not in str(e) for e in as_platform.json()["items"])


async def test_admin_actions_land_in_the_affected_tenant_chain(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    admin = await make_admin(db, settings)
    admin_headers = await bearer(client, admin.email, admin=True)
    await client.post(f"/api/admin/tenants/{made.tenant.id}/suspend", headers=admin_headers)
    await client.post(f"/api/admin/tenants/{made.tenant.id}/resume", headers=admin_headers)
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.tenant_id == made.tenant.id)
                .order_by(AuditEntry.seq)
            )
        ).all()
    assert [r.action for r in rows][-2:] == ["tenant.suspended", "tenant.resumed"]
    assert rows[-1].actor_label == admin.email


async def test_chain_verifies_and_detects_an_edited_or_deleted_row(
    db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    await make_member(db, settings, made.tenant, Role.AGENT)
    key = audit.audit_key(settings)
    async with db.transaction() as session:
        checked, problems = await audit.verify_chain(
            session=session, key=key, tenant_id=made.tenant.id
        )
    assert checked == 2
    assert problems == []

    async with db.transaction() as session:
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.tenant_id == made.tenant.id, AuditEntry.seq == 1)
            .values(data={"business_id": "forged"})
        )
    async with db.transaction() as session:
        _, problems = await audit.verify_chain(session=session, key=key, tenant_id=made.tenant.id)
    assert [(p.seq, p.reason) for p in problems] == [(1, "content does not match its hash")]

    # A chain rebuilt without the installation secret does not verify either.
    async with db.transaction() as session:
        _, problems = await audit.verify_chain(
            session=session, key=b"someone else's key", tenant_id=made.tenant.id
        )
    assert len(problems) == 2


async def test_chain_detects_a_removed_entry(db: Database, settings: Settings) -> None:
    made = await make_tenant(db, settings)
    await make_member(db, settings, made.tenant, Role.AGENT)
    await make_member(db, settings, made.tenant, Role.VIEWER)
    async with db.transaction() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.tenant_id == made.tenant.id, AuditEntry.seq == 2)
        )
        await session.delete(entry)
    async with db.transaction() as session:
        _, problems = await audit.verify_chain(
            session=session, key=audit.audit_key(settings), tenant_id=made.tenant.id
        )
    reasons = {p.reason for p in problems}
    assert "expected entry 2 here" in reasons
    assert "does not link to the previous entry" in reasons


async def test_platform_admin_reads_any_tenant_audit_log(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    made = await make_tenant(db, settings)
    admin = await make_admin(db, settings)
    headers = await bearer(client, admin.email, admin=True)
    response = await client.get(f"/api/admin/tenants/{made.tenant.id}/audit", headers=headers)
    assert response.status_code == 200
    assert [e["action"] for e in response.json()["items"]] == ["tenant.created"]
    owner = await bearer(client, made.owner_email)
    refused = await client.get(f"/api/admin/tenants/{made.tenant.id}/audit", headers=owner)
    assert refused.status_code == 403
