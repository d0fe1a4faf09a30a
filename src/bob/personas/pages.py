"""Customer Portal: the assistant's persona (name, description, tone, system prompt), the other
personas with which one is the default, and a preview of a reply in the persona being edited.

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
from bob.chat import service as chat
from bob.chat.service import Preview
from bob.deps import SessionDep
from bob.engines import service as engines
from bob.engines.base import PersonaView
from bob.errors import BobError, NotFound, ValidationFailed
from bob.knowledge.pages import database, engine_name, preview_language
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


async def _load(page: Page, session: SessionDep, persona_id: uuid.UUID | None) -> Persona:
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


async def _persona_page(
    page: Page,
    session: SessionDep,
    persona: Persona,
    *,
    form: PersonaForm | None = None,
    status: int = 200,
    error: str | None = None,
    question: str = "",
    preview: Preview | None = None,
    preview_error: str | None = None,
) -> Response:
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
        question=question,
        preview=preview,
        preview_error=preview_error,
        engine=await engine_name(page, session),
        strictness=await engines.strictness_for(
            session=session, tenant_id=page.principal_required.tenant_id
        ),
    )


@router.get("/portal/persona")
async def persona_page(
    page: Manager, session: SessionDep, id: Annotated[uuid.UUID | None, Query()] = None
) -> Response:
    return await _persona_page(page, session, await _load(page, session, id))


@router.post("/portal/persona/preview")
async def preview(
    page: Manager,
    session: SessionDep,
    persona_id: Annotated[uuid.UUID | None, Form()] = None,
    name: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    description: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    tone: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    system_prompt: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
    question: Annotated[str, Form(max_length=TEXT_LIMIT)] = "",
) -> Response:
    """A reply in the persona as the form has it now, saved or not; nothing is saved."""
    form = PersonaForm(name, description, tone, system_prompt)
    # The preview runs its own transactions; the request's session waits until it is done
    # (on SQLite an open transaction would hold the write lock the charge needs).
    try:
        view = form.view()
    except ValidationFailed as exc:
        result: Preview | BobError = exc
    else:
        result = await attempt(
            session,
            chat.preview_reply(
                db=database(page),
                settings=page.settings,
                tenant=page.principal_required.own_tenant,
                message=question,
                language=preview_language(page),
                persona=view,
            ),
        )
    refused = result if isinstance(result, BobError) else None
    return await _persona_page(
        page,
        session,
        await _load(page, session, persona_id),
        form=form,
        status=refused.status_code if refused else 200,
        question=question,
        preview=None if isinstance(result, BobError) else result,
        preview_error=refused.message if refused else None,
    )


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
    persona = await _load(page, session, persona_id)
    try:
        body = form.checked()
    except ValidationFailed as exc:
        return await _persona_page(
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
        persona = await _load(page, session, persona_id)
        return await _persona_page(
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
