"""Customer Portal: the assistant's persona (name, description, tone, system prompt), the other
personas with which one is the default. The preview of a reply in the persona being edited
is served by chat/pages.py and shown on this page.

The pages call the same services as /api/personas with the same permission (persona.manage).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response
from pydantic import ValidationError

from bob import audit
from bob.auth.permissions import Permission
from bob.deps import SessionDep
from bob.engines import service as engines
from bob.engines.base import PersonaView
from bob.errors import BobError, NotFound, ValidationFailed
from bob.knowledge.pages import engine_name
from bob.personas import service as personas
from bob.personas.models import Persona
from bob.personas.schemas import PersonaUpdate
from bob.web.page import Page, PortalPage, attempt

router = APIRouter(include_in_schema=False)
Manager = Annotated[Page, PortalPage(Permission.PERSONA_MANAGE)]
HOME = "/portal/persona"
LIST_SIZE = 100
# Form bounds only cap what a request may carry; the schema's limits give the messages.
TEXT_LIMIT = 20_000


@dataclass
class PersonaForm:
    name: str = ""
    description: str = ""
    tone: str = ""
    system_prompt: str = ""

    @classmethod
    def of(cls, persona: Persona) -> PersonaForm:
        return cls(persona.name, persona.description, persona.tone, persona.system_prompt)

    def checked(self) -> PersonaUpdate:
        """The API's own rules for these fields, or ValidationFailed naming the first one."""
        try:
            return PersonaUpdate.model_validate(
                {
                    "name": self.name,
                    "description": self.description,
                    "tone": self.tone,
                    "system_prompt": self.system_prompt,
                }
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise ValidationFailed(f"{field}: {first['msg']}") from None

    def view(self) -> PersonaView:
        body = self.checked()
        return PersonaView(
            name=body.name or "",
            description=body.description or "",
            tone=body.tone or "",
            system_prompt=body.system_prompt or "",
        )


async def load(page: Page, session: SessionDep, persona_id: uuid.UUID | None) -> Persona:
    tenant_id = page.principal_required.tenant_id
    if persona_id is not None:
        return await personas.get_persona(
            session=session, tenant_id=tenant_id, persona_id=persona_id
        )
    persona = await personas.get_default(session=session, tenant_id=tenant_id)
    if persona is None:
        raise NotFound(page.t("This business has no persona yet."))
    return persona


def _path(persona: Persona) -> str:
    return HOME if persona.is_default else f"{HOME}?id={persona.id}"


async def render(
    page: Page,
    session: SessionDep,
    persona: Persona,
    *,
    form: PersonaForm | None = None,
    status: int = 200,
    error: str | None = None,
    **preview: object,
) -> Response:
    """The persona page. The preview of a reply in the form's persona (chat/pages.py: it runs
    the chat pipeline, which stands on this package) adds its question, preview and
    preview_error."""
    listed = await personas.list_personas(
        session=session, tenant_id=page.principal_required.tenant_id, limit=LIST_SIZE, cursor=None
    )
    return page.render(
        "portal/persona.html",
        status=status,
        persona=persona,
        personas=listed.items,
        form=form or PersonaForm.of(persona),
        error=error,
        engine=await engine_name(page, session),
        strictness=await engines.strictness_for(
            session=session, tenant_id=page.principal_required.tenant_id
        ),
        **{"question": "", "preview": None, "preview_error": None, **preview},
    )


@router.get("/portal/persona")
async def persona_page(
    page: Manager, session: SessionDep, id: Annotated[uuid.UUID | None, Query()] = None
) -> Response:
    return await render(page, session, await load(page, session, id))


# Declared before /portal/persona/{persona_id}, which would otherwise take "strictness" for an id.
@router.post("/portal/persona/strictness")
async def save_strictness(
    page: Manager, session: SessionDep, strictness: Annotated[str, Form(max_length=16)]
) -> Response:
    principal = page.principal_required
    await engines.set_strictness(
        session=session, tenant_id=principal.tenant_id, strictness=strictness
    )
    await audit.record(
        session,
        principal.tenant_id,
        principal.actor,
        "engine.updated",
        target=("tenant", principal.tenant_id),
        data={"strictness": strictness},
    )
    return page.redirect(HOME, notice=page.t("Saved how sure Bob must be before it answers."))


@router.post("/portal/persona/{persona_id}")
async def save(
    page: Manager,
    session: SessionDep,
    persona_id: uuid.UUID,
    name: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    description: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    tone: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    system_prompt: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
) -> Response:
    form = PersonaForm(name, description, tone, system_prompt)
    principal = page.principal_required
    persona = await load(page, session, persona_id)
    try:
        body = form.checked()
    except ValidationFailed as exc:
        return await render(
            page, session, persona, form=form, status=exc.status_code, error=exc.message
        )
    result = await attempt(
        session,
        personas.update_persona(
            session=session,
            tenant=principal.own_tenant,
            actor=principal.actor,
            persona_id=persona.id,
            changes=body.model_dump(exclude_none=True),
        ),
    )
    if isinstance(result, BobError):
        persona = await load(page, session, persona_id)
        return await render(
            page, session, persona, form=form, status=result.status_code, error=result.message
        )
    return page.redirect(
        _path(result), notice=page.t("Saved the persona “{name}”.", name=result.name)
    )


@router.post("/portal/persona/{persona_id}/default")
async def make_default(page: Manager, session: SessionDep, persona_id: uuid.UUID) -> Response:
    principal = page.principal_required
    persona = await personas.make_default(
        session=session,
        tenant=principal.own_tenant,
        actor=principal.actor,
        persona_id=persona_id,
    )
    return page.redirect(
        HOME, notice=page.t("“{name}” now answers your visitors.", name=persona.name)
    )
