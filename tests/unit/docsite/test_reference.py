"""OpenAPI → the reference's structure: $ref resolution, nested and recursive schemas, examples,
who may call, and grouping by tag."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import BaseModel

from bob import openapi
from bob.auth.deps import CurrentPrincipal, OptionalPrincipal, Principal, Require
from bob.auth.permissions import Permission
from bob.docsite import reference
from bob.docsite.reference import Access, Resolver, example_of, from_openapi, schema_node
from bob.widget.door import WidgetCaller

COMPONENTS: dict[str, Any] = {
    "components": {
        "schemas": {
            "Reply": {
                "type": "object",
                "title": "Reply",
                "required": ["id", "persona", "sources"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "persona": {"$ref": "#/components/schemas/Persona"},
                    "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}},
                    "note": {
                        "anyOf": [{"type": "string", "maxLength": 40}, {"type": "null"}],
                        "description": "Only sometimes.",
                    },
                    "status": {"type": "string", "enum": ["bot", "human"]},
                },
            },
            "Persona": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "minLength": 1}},
            },
            "Source": {
                "type": "object",
                "properties": {"title": {"type": "string"}, "score": {"type": "number"}},
            },
            "Tree": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
                },
            },
        }
    }
}


def fields(node: reference.Node) -> dict[str, reference.Field]:
    return {f.name: f for f in node.fields}


def test_refs_resolve_into_nested_fields() -> None:
    node = schema_node({"$ref": "#/components/schemas/Reply"}, Resolver(COMPONENTS))

    assert node.type == "Reply"
    by_name = fields(node)
    assert list(by_name) == ["id", "persona", "sources", "note", "status"]
    assert by_name["id"].node.type == "string<uuid>"
    assert by_name["id"].required
    assert not by_name["note"].required
    persona = by_name["persona"].node
    assert persona.type == "Persona"
    assert [(f.name, f.node.type, f.required) for f in persona.fields] == [("name", "string", True)]
    assert persona.fields[0].node.constraints == (reference.Constraint("minimum length", "1"),)
    sources = by_name["sources"].node
    assert sources.type == "array<Source>"
    assert [f.name for f in sources.fields] == ["title", "score"]


def test_nullable_unions_keep_the_inner_type_and_the_outer_description() -> None:
    note = fields(schema_node({"$ref": "#/components/schemas/Reply"}, Resolver(COMPONENTS)))["note"]
    assert note.node.type == "string | null"
    assert note.node.description == "Only sometimes."
    assert reference.Constraint("maximum length", "40") in note.node.constraints
    status = fields(schema_node({"$ref": "#/components/schemas/Reply"}, Resolver(COMPONENTS)))[
        "status"
    ]
    assert status.node.constraints[0] == reference.Constraint("one of", '"bot", "human"')


def test_a_recursive_component_stops_at_itself() -> None:
    node = schema_node({"$ref": "#/components/schemas/Tree"}, Resolver(COMPONENTS))

    children = fields(node)["children"].node
    assert children.type == "array<Tree>"
    assert children.recursive
    assert children.fields == ()
    assert example_of({"$ref": "#/components/schemas/Tree"}, Resolver(COMPONENTS)) == {
        "label": "string",
        "children": [None],
    }


def test_local_defs_resolve_inside_an_inline_schema() -> None:
    inline = {
        "type": "object",
        "properties": {"item": {"$ref": "#/$defs/Item"}},
        "$defs": {"Item": {"type": "object", "properties": {"sku": {"type": "integer"}}}},
    }
    node = schema_node(inline, Resolver({}))

    item = fields(node)["item"].node
    assert item.type == "Item"
    assert [(f.name, f.node.type) for f in item.fields] == [("sku", "integer")]
    assert example_of(inline, Resolver({})) == {"item": {"sku": 0}}


def test_maps_and_unions_of_objects_are_described() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "target": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Persona"},
                    {"$ref": "#/components/schemas/Source"},
                ]
            },
        },
    }
    by_name = fields(schema_node(schema, Resolver(COMPONENTS)))

    assert by_name["tags"].node.type == "object<string, string>"
    target = by_name["target"].node
    assert target.type == "Persona | Source"
    assert [v.type for v in target.variants] == ["Persona", "Source"]


def test_generated_examples_fit_their_schema() -> None:
    class Person(BaseModel):
        name: str
        email: str | None = None

    class Team(BaseModel):
        id: int
        lead: Person
        members: list[Person]
        tags: dict[str, int] = {}

    schema = Team.model_json_schema()
    value = example_of(schema, Resolver({}))

    Team.model_validate(value)
    assert value["lead"] == {"name": "string", "email": "string"}
    assert value["members"] == [{"name": "string", "email": "string"}]


def test_written_examples_come_before_generated_ones() -> None:
    resolver = Resolver(COMPONENTS)
    media = {
        "schema": {"$ref": "#/components/schemas/Persona"},
        "examples": {"shop": {"summary": "The shop's assistant", "value": {"name": "Ana"}}},
    }
    (written,) = reference.examples_of(media, resolver)
    assert json.loads(written.json) == {"name": "Ana"}
    assert written.title == "The shop's assistant"
    assert not written.generated

    (generated,) = reference.examples_of({"schema": media["schema"]}, resolver)
    assert generated.generated
    assert json.loads(generated.json) == {"name": "string"}
    assert reference.examples_of({"schema": {}}, resolver) == ()


def document(paths: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1"},
        "paths": paths,
        **COMPONENTS,
    }


def test_operations_are_grouped_by_their_first_tag_once_each() -> None:
    validation = {"$ref": "#/components/schemas/HTTPValidationError"}
    doc = document(
        {
            "/a/{x}": {
                "get": {"tags": ["one", "two"], "summary": "A", "responses": {}},
                "post": {
                    "tags": ["two"],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Persona"}}
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Reply"}
                                }
                            },
                        },
                        "422": {
                            "description": "Validation Error",
                            "content": {"application/json": {"schema": validation}},
                        },
                    },
                },
            },
            "/a-x": {"get": {"responses": {}}},
        }
    )
    built = from_openapi(doc, seed=[("POST", "/a/{x}")])

    assert [(t.name, [f"{o.method} {o.path}" for o in t.operations]) for t in built.tags] == [
        ("one", ["GET /a/{x}"]),
        ("two", ["POST /a/{x}"]),
        ("other", ["GET /a-x"]),
    ]
    anchors = [o.anchor for o in built.operations]
    assert len(set(anchors)) == len(anchors)
    post = built.operations[1]
    assert post.seed
    assert not built.operations[0].seed
    assert post.bodies[0].node is not None
    assert post.bodies[0].node.type == "Persona"
    ok, invalid = post.replies
    assert ok.node is not None
    assert ok.node.type == "Reply"
    assert not ok.bob_error
    assert invalid.bob_error
    assert invalid.node is None


def test_operation_security_in_the_schema_wins() -> None:
    doc = document({"/s": {"get": {"security": [{"bearer": []}], "responses": {}}}})
    (op,) = from_openapi(doc).operations
    assert op.access == Access("scheme", schemes=("bearer",))
    assert op.access.needs_login


def test_who_may_call_comes_from_the_routes_dependencies_through_the_schema() -> None:
    app = FastAPI()

    @app.get("/open")
    async def open_() -> None: ...

    @app.get("/maybe")
    async def maybe(principal: OptionalPrincipal) -> None: ...

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> None: ...

    @app.post("/team")
    async def team(principal: Annotated[Principal, Require(Permission.TEAM_MANAGE)]) -> None: ...

    @app.post("/api/widget/chat")
    async def widget(caller: WidgetCaller) -> None: ...

    openapi.install(app)
    access = {f"{o.method} {o.path}": o.access for o in reference.build(app).operations}

    assert access["GET /open"] == Access("public")
    assert access["GET /maybe"] == Access("optional")
    assert access["GET /me"] == Access("login")
    assert access["POST /team"] == Access(
        "permission", permission="team.manage", roles=("owner", "admin")
    )
    assert access["POST /api/widget/chat"] == Access("widget_key")
    assert not access["POST /api/widget/chat"].needs_login
