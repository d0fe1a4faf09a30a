"""Customer Portal: webhook endpoints, their signing secrets, the delivery log and the catalogue.

The pages call the same services as /api/webhooks with the same permission (webhook.manage).
A signing secret is shown once, on the page the form redirects to (see `reveal`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from bob.auth.permissions import Permission
from bob.billing import metering
from bob.deps import SessionDep
from bob.errors import BobError
from bob.events import catalogue
from bob.events.models import DeliveryStatus, WebhookEndpoint
from bob.pagination import Cursor
from bob.web import reveal
from bob.web.page import N_, Page, PortalPage, attempt
from bob.webhooks import endpoints as webhooks
from bob.webhooks.endpoints import ROTATION_OVERLAP

router = APIRouter(include_in_schema=False)
Manager = Annotated[Page, PortalPage(Permission.WEBHOOK_MANAGE)]
HOME = "/portal/webhooks"
PAGE_SIZE = 25

STATUS_LABELS = {
    DeliveryStatus.PENDING: N_("Pending"),
    DeliveryStatus.SUCCEEDED: N_("Succeeded"),
    DeliveryStatus.FAILED: N_("Failed"),
}
STATUS_BADGES = {
    DeliveryStatus.PENDING: "warn",
    DeliveryStatus.SUCCEEDED: "ok",
    DeliveryStatus.FAILED: "bad",
}


@dataclass(frozen=True)
class EventGroup:
    name: str
    wildcard: str
    events: list[catalogue.EventType]


def event_groups() -> list[EventGroup]:
    """The catalogue's events a filter may ask for, by group, in catalogue order."""
    groups: dict[str, list[catalogue.EventType]] = {}
    for entry in catalogue.CATALOGUE.values():
        if entry.tenant_subscribable:
            groups.setdefault(entry.name.split(".", 1)[0], []).append(entry)
    return [EventGroup(name, f"{name}.*", events) for name, events in groups.items()]


@dataclass(frozen=True)
class EndpointForm:
    """What the endpoint form shows: what was typed, or what is stored."""

    url: str = ""
    description: str = ""
    event_types: tuple[str, ...] = ("*",)

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointForm:
        return cls(endpoint.url, endpoint.description, tuple(endpoint.event_types))


def _page_path(endpoint_id: uuid.UUID) -> str:
    return f"{HOME}/{endpoint_id}"


def _status(value: str | None) -> DeliveryStatus | None:
    return DeliveryStatus(value) if value in set(DeliveryStatus) else None


def _cursor(value: str | None) -> Cursor | None:
    return Cursor.decode(value) if value else None


def _common() -> dict[str, Any]:
    return {
        "groups": event_groups(),
        "status_labels": STATUS_LABELS,
        "status_badges": STATUS_BADGES,
        "overlap_hours": int(ROTATION_OVERLAP.total_seconds() // 3600),
    }


# ---- endpoints ------------------------------------------------------------------------------


async def _list_page(
    page: Page,
    session: SessionDep,
    *,
    status: int = 200,
    error: str | None = None,
    form: EndpointForm | None = None,
) -> Response:
    tenant_id = page.principal_required.tenant_id
    found = await webhooks.list_endpoints(session=session, tenant_id=tenant_id)
    used = await metering.usage(session=session, tenant_id=tenant_id)
    return page.render(
        "portal/webhooks.html",
        status=status,
        endpoints=found,
        integrations_used=used.integrations,
        integrations_limit=used.terms.integrations,
        plan_name=used.terms.name,
        form=form or EndpointForm(),
        error=error,
        **_common(),
    )


@router.get("/portal/webhooks")
async def endpoints_page(page: Manager, session: SessionDep) -> Response:
    return await _list_page(page, session)


@router.post("/portal/webhooks")
async def create_endpoint(
    page: Manager,
    session: SessionDep,
    url: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    principal = page.principal_required
    chosen = event_types or []
    result = await attempt(
        session,
        webhooks.create_endpoint(
            session=session,
            settings=page.settings,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            url=url.strip(),
            event_types=chosen,
            description=description,
            enabled=True,
        ),
    )
    if isinstance(result, BobError):
        return await _list_page(
            page,
            session,
            status=result.status_code,
            error=result.message,
            form=EndpointForm(url, description, tuple(chosen)),
        )
    endpoint, secret = result
    path = _page_path(endpoint.id)
    response = page.redirect(path, notice=page.t("Endpoint added: {url}", url=endpoint.url))
    reveal.remember(page, response, path, secret=secret, rotated=False)
    return response


async def _endpoint_page(
    page: Page,
    session: SessionDep,
    endpoint_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
    form: EndpointForm | None = None,
    delivery_status: str | None = None,
    cursor: str | None = None,
) -> Response:
    tenant_id = page.principal_required.tenant_id
    endpoint = await webhooks.get_endpoint(
        session=session, tenant_id=tenant_id, endpoint_id=endpoint_id
    )
    deliveries = await webhooks.list_deliveries(
        session=session,
        tenant_id=tenant_id,
        limit=PAGE_SIZE,
        cursor=_cursor(cursor),
        endpoint_id=endpoint.id,
        status=_status(delivery_status),
    )
    shown = reveal.take(page) if status == 200 else {}
    response = page.render(
        "portal/webhooks_endpoint.html",
        status=status,
        endpoint=endpoint,
        form=form or EndpointForm.of(endpoint),
        error=error,
        secret=shown.get("secret"),
        rotated=bool(shown.get("rotated")),
        deliveries=deliveries.items,
        next_cursor=deliveries.next_cursor,
        delivery_status=_status(delivery_status),
        **_common(),
    )
    if shown:
        reveal.forget(page, response)
    return response


@router.get("/portal/webhooks/events")
async def catalogue_page(page: Manager) -> Response:
    return page.render(
        "portal/webhooks_events.html",
        events=[
            {
                "name": entry.name,
                "description": entry.description,
                "subscribable": entry.tenant_subscribable,
                "example": json.dumps(catalogue.example(entry.name), indent=2, ensure_ascii=False),
            }
            for entry in catalogue.CATALOGUE.values()
        ],
        **_common(),
    )


# ---- the delivery log (before /{endpoint_id}, which would take "deliveries" as an id) --------


@router.get("/portal/webhooks/deliveries")
async def deliveries_page(
    page: Manager,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    endpoint_id: Annotated[uuid.UUID | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    tenant_id = page.principal_required.tenant_id
    found = await webhooks.list_endpoints(session=session, tenant_id=tenant_id)
    result = await webhooks.list_deliveries(
        session=session,
        tenant_id=tenant_id,
        limit=PAGE_SIZE,
        cursor=_cursor(cursor),
        endpoint_id=endpoint_id,
        status=_status(status),
    )
    params = {
        key: str(value)
        for key, value in (("status", _status(status)), ("endpoint_id", endpoint_id))
        if value
    }
    return page.render(
        "portal/webhooks_deliveries.html",
        deliveries=result.items,
        next_cursor=result.next_cursor,
        endpoints={e.id: e for e in found},
        delivery_status=_status(status),
        endpoint_id=endpoint_id,
        params=params,
        **_common(),
    )


async def _delivery_page(
    page: Page,
    session: SessionDep,
    delivery_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    tenant_id = page.principal_required.tenant_id
    view = await webhooks.get_delivery(
        session=session, tenant_id=tenant_id, delivery_id=delivery_id
    )
    endpoint = await webhooks.get_endpoint(
        session=session, tenant_id=tenant_id, endpoint_id=view.delivery.endpoint_id
    )
    return page.render(
        "portal/webhooks_delivery.html",
        status=status,
        error=error,
        view=view,
        endpoint=endpoint,
        payload=json.dumps(view.event.payload, indent=2, ensure_ascii=False),
        **_common(),
    )


@router.get("/portal/webhooks/deliveries/{delivery_id}")
async def delivery_page(page: Manager, session: SessionDep, delivery_id: uuid.UUID) -> Response:
    return await _delivery_page(page, session, delivery_id)


@router.post("/portal/webhooks/deliveries/{delivery_id}/redeliver")
async def redeliver(page: Manager, session: SessionDep, delivery_id: uuid.UUID) -> Response:
    principal = page.principal_required
    # Another business's delivery is a 404 page, not a refusal on this one.
    await webhooks.get_delivery(
        session=session, tenant_id=principal.tenant_id, delivery_id=delivery_id
    )
    result = await attempt(
        session,
        webhooks.redeliver(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            delivery_id=delivery_id,
        ),
    )
    if isinstance(result, BobError):
        return await _delivery_page(
            page, session, delivery_id, status=result.status_code, error=result.message
        )
    return page.redirect(
        f"{HOME}/deliveries/{delivery_id}",
        notice=page.t("Sending it again now; the log shows the new attempt when it is made."),
    )


# ---- one endpoint ---------------------------------------------------------------------------


@router.get("/portal/webhooks/{endpoint_id}")
async def endpoint_page(
    page: Manager,
    session: SessionDep,
    endpoint_id: uuid.UUID,
    status: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return await _endpoint_page(page, session, endpoint_id, delivery_status=status, cursor=cursor)


async def _load(page: Page, session: SessionDep, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """Another business's endpoint is a 404 page, not a refusal on this one."""
    return await webhooks.get_endpoint(
        session=session, tenant_id=page.principal_required.tenant_id, endpoint_id=endpoint_id
    )


@router.post("/portal/webhooks/{endpoint_id}")
async def update_endpoint(
    page: Manager,
    session: SessionDep,
    endpoint_id: uuid.UUID,
    url: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    await _load(page, session, endpoint_id)
    principal = page.principal_required
    chosen = event_types or []
    result = await attempt(
        session,
        webhooks.update_endpoint(
            session=session,
            settings=page.settings,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            endpoint_id=endpoint_id,
            changes={"url": url.strip(), "description": description, "event_types": chosen},
        ),
    )
    if isinstance(result, BobError):
        return await _endpoint_page(
            page,
            session,
            endpoint_id,
            status=result.status_code,
            error=result.message,
            form=EndpointForm(url, description, tuple(chosen)),
        )
    return page.redirect(_page_path(endpoint_id), notice=page.t("Endpoint saved."))


@router.post("/portal/webhooks/{endpoint_id}/enabled")
async def set_enabled(
    page: Manager,
    session: SessionDep,
    endpoint_id: uuid.UUID,
    enabled: Annotated[bool, Form()],
) -> Response:
    await _load(page, session, endpoint_id)
    principal = page.principal_required
    result = await attempt(
        session,
        webhooks.update_endpoint(
            session=session,
            settings=page.settings,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            endpoint_id=endpoint_id,
            changes={"enabled": enabled},
        ),
    )
    if isinstance(result, BobError):
        return await _endpoint_page(
            page, session, endpoint_id, status=result.status_code, error=result.message
        )
    notice = (
        page.t("Endpoint turned on. Deliveries that were waiting for it are sent now.")
        if enabled
        else page.t("Endpoint turned off. New events for it wait until it is turned on again.")
    )
    return page.redirect(_page_path(endpoint_id), notice=notice)


@router.post("/portal/webhooks/{endpoint_id}/delete")
async def delete_endpoint(page: Manager, session: SessionDep, endpoint_id: uuid.UUID) -> Response:
    endpoint = await _load(page, session, endpoint_id)
    url = endpoint.url
    principal = page.principal_required
    result = await attempt(
        session,
        webhooks.delete_endpoint(
            session=session,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            endpoint_id=endpoint_id,
        ),
    )
    if isinstance(result, BobError):
        return await _endpoint_page(
            page, session, endpoint_id, status=result.status_code, error=result.message
        )
    return page.redirect(HOME, notice=page.t("Endpoint deleted: {url}", url=url))


@router.post("/portal/webhooks/{endpoint_id}/rotate")
async def rotate_secret(page: Manager, session: SessionDep, endpoint_id: uuid.UUID) -> Response:
    await _load(page, session, endpoint_id)
    principal = page.principal_required
    result = await attempt(
        session,
        webhooks.rotate_secret(
            session=session,
            settings=page.settings,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            endpoint_id=endpoint_id,
        ),
    )
    if isinstance(result, BobError):
        return await _endpoint_page(
            page, session, endpoint_id, status=result.status_code, error=result.message
        )
    _, secret = result
    path = _page_path(endpoint_id)
    response = page.redirect(path, notice=page.t("New signing secret made."))
    reveal.remember(page, response, path, secret=secret, rotated=True)
    return response


@router.post("/portal/webhooks/{endpoint_id}/test")
async def send_test(page: Manager, session: SessionDep, endpoint_id: uuid.UUID) -> Response:
    await _load(page, session, endpoint_id)
    principal = page.principal_required
    result = await attempt(
        session,
        webhooks.send_test(
            session=session,
            tenant=principal.own_tenant,
            actor=principal.actor,
            endpoint_id=endpoint_id,
        ),
    )
    if isinstance(result, BobError):
        return await _endpoint_page(
            page, session, endpoint_id, status=result.status_code, error=result.message
        )
    return page.redirect(
        f"{HOME}/deliveries/{result.delivery.id}",
        notice=page.t("Test event queued. This page shows each attempt to deliver it."),
    )
