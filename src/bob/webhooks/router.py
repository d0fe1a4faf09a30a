"""Webhooks API: endpoints, secret rotation, test events, the delivery log and the catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from bob.auth.deps import Principal, Require
from bob.auth.permissions import Permission
from bob.deps import SessionDep, SettingsDep
from bob.events import catalogue
from bob.events.models import DeliveryStatus, WebhookEndpoint
from bob.openapi import problems
from bob.pagination import PageDep
from bob.webhooks import endpoints as webhooks
from bob.webhooks.schemas import (
    WebhookAttemptRead,
    WebhookDeliveryPage,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointPage,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookEventTypePage,
    WebhookEventTypeRead,
)

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
Manager = Annotated[Principal, Require(Permission.WEBHOOK_MANAGE)]


def _read(endpoint: WebhookEndpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(endpoint, from_attributes=True)


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(**_read(endpoint).model_dump(), secret=secret)


def _delivery(view: webhooks.DeliveryView) -> WebhookDeliveryRead:
    d = view.delivery
    return WebhookDeliveryRead(
        id=d.id,
        endpoint_id=d.endpoint_id,
        event_id=d.event_id,
        event_type=d.event_type,
        webhook_id=view.webhook_id,
        status=d.status,
        attempt_count=d.attempt_count,
        next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
        last_attempt_at=d.last_attempt_at,
        created_at=d.created_at,
        payload=view.event.payload,
        attempts=[
            WebhookAttemptRead.model_validate(a, from_attributes=True) for a in view.attempts
        ],
    )


@router.get("/events", summary="The event catalogue, with a JSON Schema and an example per event")
async def list_event_types() -> WebhookEventTypePage:
    # Public: it describes Bob, not a tenant, and receivers are written from it.
    return WebhookEventTypePage(
        items=[
            WebhookEventTypeRead(
                type=name,
                description=entry.description,
                json_schema=catalogue.envelope_schema(name),
                example=catalogue.example(name),
            )
            for name, entry in catalogue.CATALOGUE.items()
        ]
    )


@router.get("/endpoints")
async def list_endpoints(principal: Manager, session: SessionDep) -> WebhookEndpointPage:
    found = await webhooks.list_endpoints(session=session, tenant_id=principal.tenant_id)
    return WebhookEndpointPage(items=[_read(e) for e in found])


@router.post(
    "/endpoints",
    status_code=status.HTTP_201_CREATED,
    responses=problems(409),
    summary="Add an endpoint; the answer carries its signing secret, shown only this once",
)
async def create_endpoint(
    body: WebhookEndpointCreate, principal: Manager, session: SessionDep, settings: SettingsDep
) -> WebhookEndpointWithSecret:
    endpoint, secret = await webhooks.create_endpoint(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
    )
    return _with_secret(endpoint, secret)


@router.get("/endpoints/{endpoint_id}")
async def get_endpoint(
    endpoint_id: uuid.UUID, principal: Manager, session: SessionDep
) -> WebhookEndpointRead:
    endpoint = await webhooks.get_endpoint(
        session=session, tenant_id=principal.tenant_id, endpoint_id=endpoint_id
    )
    return _read(endpoint)


@router.patch("/endpoints/{endpoint_id}")
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: WebhookEndpointUpdate,
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookEndpointRead:
    endpoint = await webhooks.update_endpoint(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        endpoint_id=endpoint_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return _read(endpoint)


@router.delete("/endpoints/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_endpoint(
    endpoint_id: uuid.UUID,
    principal: Manager,
    session: SessionDep,
) -> Response:
    await webhooks.delete_endpoint(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        endpoint_id=endpoint_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    summary="New signing secret (shown only now); the old one keeps signing for 24 hours",
)
async def rotate_secret(
    endpoint_id: uuid.UUID, principal: Manager, session: SessionDep, settings: SettingsDep
) -> WebhookEndpointWithSecret:
    endpoint, secret = await webhooks.rotate_secret(
        session=session,
        settings=settings,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        endpoint_id=endpoint_id,
    )
    return _with_secret(endpoint, secret)


@router.post(
    "/endpoints/{endpoint_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(409),
    summary="Queue a webhook.test event for this endpoint only",
)
async def send_test(
    endpoint_id: uuid.UUID,
    principal: Manager,
    session: SessionDep,
) -> WebhookDeliveryRead:
    view = await webhooks.send_test(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        endpoint_id=endpoint_id,
    )
    return _delivery(view)


@router.get("/deliveries", summary="The delivery log, newest first, with every attempt")
async def list_deliveries(
    principal: Manager,
    session: SessionDep,
    page: PageDep,
    endpoint_id: uuid.UUID | None = None,
    status: DeliveryStatus | None = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
) -> WebhookDeliveryPage:
    result = await webhooks.list_deliveries(
        session=session,
        tenant_id=principal.tenant_id,
        limit=page.limit,
        cursor=page.cursor,
        endpoint_id=endpoint_id,
        status=status,
        event_type=event_type,
    )
    return WebhookDeliveryPage(
        items=[_delivery(v) for v in result.items], next_cursor=result.next_cursor
    )


@router.get("/deliveries/{delivery_id}")
async def get_delivery(
    delivery_id: uuid.UUID, principal: Manager, session: SessionDep
) -> WebhookDeliveryRead:
    view = await webhooks.get_delivery(
        session=session, tenant_id=principal.tenant_id, delivery_id=delivery_id
    )
    return _delivery(view)


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problems(409),
    summary="Send a delivery again now, with a fresh retry schedule and the same webhook-id",
)
async def redeliver(
    delivery_id: uuid.UUID,
    principal: Manager,
    session: SessionDep,
) -> WebhookDeliveryRead:
    view = await webhooks.redeliver(
        session=session,
        tenant_id=principal.tenant_id,
        actor=principal.actor,
        delivery_id=delivery_id,
    )
    return _delivery(view)
