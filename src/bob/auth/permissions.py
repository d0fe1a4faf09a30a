"""Who may do what: the one table mapping roles to permissions. Routers name the permission."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"


TENANT_ROLES = (Role.OWNER, Role.ADMIN, Role.AGENT, Role.VIEWER)


class Permission(StrEnum):
    CHAT_MANAGE = "chat.manage"
    CHAT_READ = "chat.read"
    PERSONA_MANAGE = "persona.manage"
    KNOWLEDGE_MANAGE = "knowledge.manage"
    WIDGET_MANAGE = "widget.manage"
    WEBHOOK_MANAGE = "webhook.manage"
    TEAM_MANAGE = "team.manage"
    BILLING_READ = "billing.read"
    BILLING_MANAGE = "billing.manage"
    AUDIT_READ = "audit.read"
    ANALYTICS_READ = "analytics.read"
    # Platform admins only.
    TENANTS_MANAGE = "tenants.manage"
    PRICEBOOK_MANAGE = "pricebook.manage"
    PLATFORM_READ = "platform.read"


P = Permission
# What platform admins do for the platform tenant (its own front office: the chat page at /,
# its knowledge, persona, widget and webhooks), through the same API and pages as a business.
FRONT_OFFICE = frozenset(
    {
        P.CHAT_MANAGE,
        P.CHAT_READ,
        P.PERSONA_MANAGE,
        P.KNOWLEDGE_MANAGE,
        P.WIDGET_MANAGE,
        P.WEBHOOK_MANAGE,
        P.AUDIT_READ,
        P.ANALYTICS_READ,
    }
)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(
        {
            P.CHAT_MANAGE,
            P.CHAT_READ,
            P.PERSONA_MANAGE,
            P.KNOWLEDGE_MANAGE,
            P.WIDGET_MANAGE,
            P.WEBHOOK_MANAGE,
            P.TEAM_MANAGE,
            P.BILLING_READ,
            P.BILLING_MANAGE,
            P.AUDIT_READ,
            P.ANALYTICS_READ,
        }
    ),
    # Runs the front office but does not commit the business to spending money.
    Role.ADMIN: frozenset(
        {
            P.CHAT_MANAGE,
            P.CHAT_READ,
            P.PERSONA_MANAGE,
            P.KNOWLEDGE_MANAGE,
            P.WIDGET_MANAGE,
            P.WEBHOOK_MANAGE,
            P.TEAM_MANAGE,
            P.BILLING_READ,
            P.AUDIT_READ,
            P.ANALYTICS_READ,
        }
    ),
    # Answers visitors and keeps the knowledge current.
    Role.AGENT: frozenset({P.CHAT_MANAGE, P.CHAT_READ, P.KNOWLEDGE_MANAGE, P.ANALYTICS_READ}),
    Role.VIEWER: frozenset({P.CHAT_READ, P.BILLING_READ, P.ANALYTICS_READ}),
    Role.PLATFORM_ADMIN: frozenset({P.TENANTS_MANAGE, P.PRICEBOOK_MANAGE, P.PLATFORM_READ})
    | FRONT_OFFICE,
}


def permissions_for(role: str) -> frozenset[Permission]:
    return ROLE_PERMISSIONS.get(Role(role), frozenset())
