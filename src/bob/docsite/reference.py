"""The API reference, built from the running app's OpenAPI schema alone.

`build(app)` turns `app.openapi()` into operations grouped by tag, each with who may call it,
its parameters, bodies and responses (JSON Schema resolved into readable trees) and examples.
The schema is the only source, so the reference cannot describe an endpoint that is not there.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from fastapi import FastAPI

from bob.auth.permissions import Permission, Role, permissions_for
from bob.web.page import N_

JSON = dict[str, Any]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The paths published in Bob's public documentation (marked "seed" in the HTTP contract):
# existing clients rely on them, so they never change. The widget door's CORS preflight
# (OPTIONS /api/widget/chat) is seed too but, being no operation, is not in the schema.
SEED_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("POST", "/api/auth/login"),
    ("POST", "/api/customers/auth/login"),
    ("POST", "/api/chat"),
    ("POST", "/api/widget/chat"),
    ("POST", "/api/chat/session"),
    ("POST", "/api/chat/message"),
    ("GET", "/api/chat/history/{session_id}"),
    ("GET", "/widget/{tenant_id}/widget.js"),
    ("GET", "/api/analytics/overview"),
    ("GET", "/api/metrics/business"),
    ("GET", "/api/customers/dashboard/{business_id}"),
    ("GET", "/api/health"),
    ("GET", "/metrics"),
)

AccessKind = Literal[
    "public", "optional", "login", "permission", "same_origin", "widget_key", "scheme"
]

ACCESS_KINDS = frozenset(get_args(AccessKind))

# FastAPI documents every 422 with its own body; Bob answers errors in its own shape instead.
FASTAPI_VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"
# Every error has this one body (the API guide describes it): its example says enough, and a
# tree of it under each of the hundreds of error replies would only bury the operations.
BOB_ERROR = "#/components/schemas/ErrorResponse"

TAG_LABELS: dict[str, str] = {
    "system": N_("System"),
    "auth": N_("Authentication"),
    "admin": N_("Platform admin"),
    "tenants": N_("Signup"),
    "team": N_("Team"),
    "audit": N_("Audit log"),
    "knowledge": N_("Knowledge"),
    "chat": N_("Chat"),
    "conversations": N_("Conversations"),
    "personas": N_("Personas"),
    "widget": N_("Widget"),
    "engine": N_("Engine"),
    "billing": N_("Billing"),
    "webhooks": N_("Webhooks"),
    "analytics": N_("Analytics"),
}
UNTAGGED = "other"

MAX_DEPTH = 8
EXAMPLE_UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
EXAMPLE_STRINGS: dict[str, str] = {
    "uuid": EXAMPLE_UUID,
    "date-time": "2026-01-31T09:30:00Z",
    "date": "2026-01-31",
    "time": "09:30:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "binary": "(file contents)",
}


# ---- who may call an operation ------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    kind: AccessKind
    permission: str | None = None
    roles: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()

    @property
    def needs_login(self) -> bool:
        return self.kind in ("login", "permission", "scheme")


def access_of(operation: JSON) -> Access:
    """Who may call an operation, as the schema says: Bob's `x-bob-access` (openapi.py), else
    the operation's (or the document's) OpenAPI security requirements."""
    declared = operation.get("x-bob-access")
    if isinstance(declared, dict) and declared.get("kind") in ACCESS_KINDS:
        permission = declared.get("permission")
        if isinstance(permission, str):
            roles = tuple(r.value for r in Role if Permission(permission) in permissions_for(r))
            return Access("permission", permission=permission, roles=roles)
        return Access(declared["kind"])
    return Access("public")


# ---- JSON Schema as a readable tree --------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    label: str  # an English text for the catalogs
    value: str | None = None  # None: the label says it all


@dataclass(frozen=True)
class Field:
    name: str
    required: bool
    node: Node


@dataclass(frozen=True)
class Node:
    """One schema, resolved: a type in compact notation and what there is to say about it."""

    type: str
    name: str | None = None
    description: str | None = None
    constraints: tuple[Constraint, ...] = ()
    fields: tuple[Field, ...] = ()
    values: Node | None = None  # the value schema of a map (additionalProperties)
    variants: tuple[Node, ...] = ()  # alternatives worth expanding (anyOf / oneOf)
    recursive: bool = False

    @property
    def expandable(self) -> bool:
        return bool(self.fields or self.variants or (self.values and self.values.expandable))


CONSTRAINTS: tuple[tuple[str, str], ...] = (
    ("default", N_("default")),
    ("minLength", N_("minimum length")),
    ("maxLength", N_("maximum length")),
    ("pattern", N_("pattern")),
    ("minimum", N_("minimum")),
    ("exclusiveMinimum", N_("greater than")),
    ("maximum", N_("maximum")),
    ("exclusiveMaximum", N_("less than")),
    ("multipleOf", N_("multiple of")),
    ("minItems", N_("minimum items")),
    ("maxItems", N_("maximum items")),
    ("minProperties", N_("minimum fields")),
    ("maxProperties", N_("maximum fields")),
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class Resolver:
    """Follows `$ref`s into the document's components and into a schema's own `$defs`."""

    def __init__(self, document: JSON) -> None:
        self.document = document
        self.local: list[Mapping[str, Any]] = []

    def resolve(self, schema: Any) -> tuple[JSON, str | None]:
        name: str | None = None
        seen: set[str] = set()
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if ref in seen:
                break
            seen.add(ref)
            name = ref.rsplit("/", 1)[-1]
            target = self._lookup(ref)
            if target is None:
                return {}, name
            # Siblings of $ref (a field's description, its default) add to the target.
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra}
        return (schema if isinstance(schema, dict) else {}), name

    def _lookup(self, ref: str) -> JSON | None:
        if not ref.startswith("#/"):
            return None
        parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
        if parts[0] in ("$defs", "definitions") and len(parts) == 2:
            for defs in reversed(self.local):
                if isinstance(defs.get(parts[1]), dict):
                    found: JSON = defs[parts[1]]
                    return found
        current: Any = self.document
        for part in parts:
            if not isinstance(current, dict) or part not in current:
                return None
            current = current[part]
        return current if isinstance(current, dict) else None


def _variants(schema: JSON) -> list[Any] | None:
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return list(schema[key])
    return None


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) <= 2


def _constraints(schema: JSON) -> tuple[Constraint, ...]:
    found = [
        Constraint(label, _json(schema[key]) if key == "default" else str(schema[key]))
        for key, label in CONSTRAINTS
        if key in schema and not (key == "default" and schema[key] is None)
    ]
    if "enum" in schema:
        found.insert(0, Constraint(N_("one of"), ", ".join(_json(v) for v in schema["enum"])))
    if "const" in schema:
        found.insert(0, Constraint(N_("always"), _json(schema["const"])))
    flags = (
        ("uniqueItems", N_("unique items")),
        ("readOnly", N_("read-only")),
        ("writeOnly", N_("write-only")),
        ("deprecated", N_("deprecated")),
    )
    found += [Constraint(label) for key, label in flags if schema.get(key)]
    return tuple(found)


def schema_node(schema: Any, resolver: Resolver, *, _stack: tuple[str, ...] = ()) -> Node:
    """A readable tree of `schema`; a component met again inside itself is marked recursive."""
    resolved, name = resolver.resolve(schema)
    if name is not None and name in _stack:
        return Node(type=name, name=name, recursive=True)
    if len(_stack) >= MAX_DEPTH:
        return Node(type=name or str(resolved.get("type", "object")), name=name)
    stack = (*_stack, name or "")
    pushed = isinstance(resolved.get("$defs"), dict)
    if pushed:
        resolver.local.append(resolved["$defs"])
    try:
        return _node(resolved, name, resolver, stack)
    finally:
        if pushed:
            resolver.local.pop()


def _node(schema: JSON, name: str | None, resolver: Resolver, stack: tuple[str, ...]) -> Node:
    variants = _variants(schema)
    if variants is not None:
        return _union_node(schema, variants, name, resolver, stack)
    if isinstance(schema.get("allOf"), list):
        merged, name = _merge_all_of(schema, name, resolver)
        return _node(merged, name, resolver, stack)
    kind, nullable, others = _split_type(schema)
    if kind is None and others:
        # Several types at once (["string", "integer"]) have no one shape to expand.
        joined = " | ".join(others + (["null"] if nullable else []))
        return _leaf(schema, joined, name)
    if kind is None and "properties" in schema:
        kind = "object"
    suffix = " | null" if nullable else ""
    if kind == "object":
        return _object_node(schema, name, suffix, resolver, stack)
    if kind == "array":
        return _array_node(schema, name, suffix, resolver, stack)
    return _leaf(schema, _scalar_label(schema, kind, name) + suffix, name)


def _leaf(schema: JSON, type_: str, name: str | None) -> Node:
    return Node(
        type=type_,
        name=name,
        description=schema.get("description"),
        constraints=_constraints(schema),
    )


def _union_node(
    schema: JSON, variants: list[Any], name: str | None, resolver: Resolver, stack: tuple[str, ...]
) -> Node:
    nullable = any(_is_null(v) for v in variants)
    options = [schema_node(v, resolver, _stack=stack) for v in variants if not _is_null(v)]
    if len(options) == 1:
        # "X or null" is how Pydantic writes an optional X: show X itself, marked nullable.
        inner = options[0]
        return replace(
            inner,
            type=f"{inner.type} | null" if nullable else inner.type,
            name=name or inner.name,
            description=schema.get("description") or inner.description,
            constraints=_constraints(schema) + inner.constraints,
        )
    label = " | ".join([o.type for o in options] + (["null"] if nullable else []))
    return replace(
        _leaf(schema, name or label or "any", name),
        variants=tuple(o for o in options if o.expandable or o.recursive),
    )


def _merge_all_of(schema: JSON, name: str | None, resolver: Resolver) -> tuple[JSON, str | None]:
    """One object schema from the parts of an allOf, named after its first named part."""
    merged: JSON = {"type": "object", "properties": {}, "required": []}
    for part in schema["allOf"]:
        piece, piece_name = resolver.resolve(part)
        name = name or piece_name
        merged["properties"].update(piece.get("properties", {}))
        merged["required"] += piece.get("required", [])
        for key in ("type", "additionalProperties", "items", "format", "enum"):
            if key in piece:
                merged[key] = piece[key]
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    if not merged["properties"]:
        merged.pop("properties")
    return {**merged, **rest}, name


def _split_type(schema: JSON) -> tuple[Any, bool, list[Any]]:
    """The schema's one type (None if it names several), whether it allows null, and the
    non-null types of a type list (empty when `type` is no list)."""
    kind = schema.get("type")
    if not isinstance(kind, list):
        return kind, False, []
    others = [k for k in kind if k != "null"]
    return (others[0] if len(others) == 1 else None), "null" in kind, others


def _object_node(
    schema: JSON, name: str | None, suffix: str, resolver: Resolver, stack: tuple[str, ...]
) -> Node:
    required = set(schema.get("required", []))
    fields = tuple(
        Field(prop, prop in required, schema_node(sub, resolver, _stack=stack))
        for prop, sub in (schema.get("properties") or {}).items()
    )
    extra = schema.get("additionalProperties")
    values = schema_node(extra, resolver, _stack=stack) if isinstance(extra, dict) else None
    return replace(
        _leaf(schema, _object_label(schema, name, values) + suffix, name),
        fields=fields,
        values=values,
    )


def _object_label(schema: JSON, name: str | None, values: Node | None) -> str:
    if name:
        return name
    # Only a schema with fields is named by its title: Pydantic titles plain maps too, and
    # a map's title ("Metadata") says less than object<string, X>.
    title = schema.get("title") if schema.get("properties") else None
    if isinstance(title, str):
        return title
    return f"object<string, {values.type}>" if values is not None else "object"


def _array_node(
    schema: JSON, name: str | None, suffix: str, resolver: Resolver, stack: tuple[str, ...]
) -> Node:
    items = schema.get("items")
    if not isinstance(items, dict):
        return _leaf(schema, f"array<any>{suffix}", name)
    item = schema_node(items, resolver, _stack=stack)
    # A list shows what one of its items holds, so the reader need not look one level down.
    return replace(
        _leaf(schema, f"array<{item.type}>{suffix}", name),
        fields=item.fields,
        values=item.values,
        variants=item.variants,
        recursive=item.recursive,
    )


def _scalar_label(schema: JSON, kind: Any, name: str | None) -> str:
    if kind == "string" and schema.get("format"):
        return f"string<{schema['format']}>"
    if isinstance(kind, str):
        return kind
    if "const" in schema:
        return type(schema["const"]).__name__.replace("str", "string")
    return name or "any"


# ---- examples ------------------------------------------------------------------------------


# Stands for "the schema gives no example", since None is an example a schema can give.
_NO_EXAMPLE: Any = object()


def example_of(schema: Any, resolver: Resolver, *, _stack: tuple[str, ...] = ()) -> Any:
    """A value that fits `schema`: its own examples and defaults first, else typical values."""
    resolved, name = resolver.resolve(schema)
    if (name is not None and name in _stack) or len(_stack) >= MAX_DEPTH:
        return None
    stack = (*_stack, name or "")
    pushed = isinstance(resolved.get("$defs"), dict)
    if pushed:
        resolver.local.append(resolved["$defs"])
    try:
        return _example(resolved, resolver, stack)
    finally:
        if pushed:
            resolver.local.pop()


def _example(schema: JSON, resolver: Resolver, stack: tuple[str, ...]) -> Any:
    written = _written_example(schema)
    if written is not _NO_EXAMPLE:
        return written
    variants = _variants(schema)
    if variants is not None:
        options = [v for v in variants if not _is_null(v)]
        return example_of(options[0], resolver, _stack=stack) if options else None
    if isinstance(schema.get("allOf"), list):
        return _all_of_example(schema["allOf"], resolver, stack)
    make = EXAMPLE_OF_KIND.get(_example_kind(schema))
    return make(schema, resolver, stack) if make is not None else None


def _written_example(schema: JSON) -> Any:
    """What the schema itself offers as a value, in order of how much the authors meant it."""
    if "example" in schema:
        return schema["example"]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if schema.get("default") is not None:
        return schema["default"]
    return _NO_EXAMPLE


def _all_of_example(parts: list[Any], resolver: Resolver, stack: tuple[str, ...]) -> Any:
    merged: JSON = {}
    for part in parts:
        value = example_of(part, resolver, _stack=stack)
        if isinstance(value, dict):
            merged.update(value)
        elif value is not None:
            # A part that is no object cannot be merged; its value stands for the whole.
            return value
    return merged


def _example_kind(schema: JSON) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        return "object"
    return kind if isinstance(kind, str) else None


def _object_example(schema: JSON, resolver: Resolver, stack: tuple[str, ...]) -> JSON:
    value = {
        prop: example_of(sub, resolver, _stack=stack)
        for prop, sub in (schema.get("properties") or {}).items()
    }
    extra = schema.get("additionalProperties")
    if not value and isinstance(extra, dict) and extra:
        # A map without fixed fields: one made-up key shows what its values look like.
        value = {"key": example_of(extra, resolver, _stack=stack)}
    return value


def _array_example(schema: JSON, resolver: Resolver, stack: tuple[str, ...]) -> list[Any]:
    items = schema.get("items")
    return [example_of(items, resolver, _stack=stack)] if isinstance(items, dict) else []


def _string_example(schema: JSON, resolver: Resolver, stack: tuple[str, ...]) -> str:
    known = EXAMPLE_STRINGS.get(str(schema.get("format", "")))
    if known is not None:
        return known
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", max(low, 6)))
    return ("string" * (low // 6 + 1))[: max(min(6, high), low)]


def _number_example(schema: JSON, resolver: Resolver, stack: tuple[str, ...]) -> int | float:
    # A value on a bound surely fits; zero may lie outside the bounds.
    number: int | float = 0
    if "minimum" in schema:
        number = schema["minimum"]
    elif "exclusiveMinimum" in schema:
        number = schema["exclusiveMinimum"] + 1
    elif "maximum" in schema and schema["maximum"] < 0:
        number = schema["maximum"]
    return number


def _integer_example(schema: JSON, resolver: Resolver, stack: tuple[str, ...]) -> int:
    return int(_number_example(schema, resolver, stack))


def _boolean_example(schema: JSON, resolver: Resolver, stack: tuple[str, ...]) -> bool:
    return False


ExampleMaker = Callable[[JSON, Resolver, tuple[str, ...]], Any]

# A made-up value for each JSON Schema type; "null" and unknown types make None.
EXAMPLE_OF_KIND: dict[str | None, ExampleMaker] = {
    "object": _object_example,
    "array": _array_example,
    "string": _string_example,
    "number": _number_example,
    "integer": _integer_example,
    "boolean": _boolean_example,
}


@dataclass(frozen=True)
class Example:
    json: str
    title: str | None = None
    generated: bool = False  # made from the schema, not written by the API's authors


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def examples_of(media: JSON, resolver: Resolver) -> tuple[Example, ...]:
    """The media type's examples, else the schema's own, else one made from the schema."""
    found: list[Example] = []
    if "example" in media:
        found.append(Example(_dump(media["example"])))
    for key, item in (media.get("examples") or {}).items():
        if isinstance(item, dict) and "value" in item:
            found.append(Example(_dump(item["value"]), title=item.get("summary") or key))
    if found:
        return tuple(found)
    schema = media.get("schema")
    if not isinstance(schema, dict) or not schema:
        return ()
    resolved, _ = resolver.resolve(schema)
    if isinstance(resolved.get("examples"), list) and resolved["examples"]:
        return tuple(Example(_dump(v)) for v in resolved["examples"])
    if "example" in resolved:
        return (Example(_dump(resolved["example"])),)
    return (Example(_dump(example_of(schema, resolver)), generated=True),)


# ---- operations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    description: str | None
    node: Node


@dataclass(frozen=True)
class Body:
    content_type: str
    required: bool
    node: Node | None
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class Reply:
    status: str
    description: str
    content_type: str | None = None
    node: Node | None = None
    examples: tuple[Example, ...] = ()
    bob_error: bool = False  # documented by FastAPI's validation body; Bob sends its own


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str | None
    tags: tuple[str, ...]
    access: Access
    seed: bool
    deprecated: bool
    parameters: tuple[Parameter, ...]
    bodies: tuple[Body, ...]
    replies: tuple[Reply, ...]


@dataclass(frozen=True)
class Tag:
    name: str
    label: str
    anchor: str
    description: str | None
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    tags: tuple[Tag, ...]
    seed: tuple[tuple[str, str], ...] = SEED_OPERATIONS

    @property
    def operations(self) -> list[Operation]:
        return [op for tag in self.tags for op in tag.operations]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "op"


def _parameters(raw: list[Any], resolver: Resolver) -> tuple[Parameter, ...]:
    found = []
    for item in raw:
        param, _ = resolver.resolve(item)
        schema = param.get("schema", {})
        node = schema_node(schema, resolver)
        found.append(
            Parameter(
                name=str(param.get("name", "")),
                location=str(param.get("in", "")),
                required=bool(param.get("required", False)),
                description=param.get("description") or node.description,
                node=node,
            )
        )
    return tuple(found)


def _bodies(operation: JSON, resolver: Resolver) -> tuple[Body, ...]:
    body, _ = resolver.resolve(operation.get("requestBody") or {})
    return tuple(
        Body(
            content_type=content_type,
            required=bool(body.get("required", False)),
            node=schema_node(media["schema"], resolver) if media.get("schema") else None,
            examples=examples_of(media, resolver) if "json" in content_type else (),
        )
        for content_type, media in (body.get("content") or {}).items()
    )


def _replies(operation: JSON, resolver: Resolver) -> tuple[Reply, ...]:
    found = []
    for status, raw in (operation.get("responses") or {}).items():
        reply, _ = resolver.resolve(raw)
        description = str(reply.get("description", ""))
        content = reply.get("content") or {}
        if not content:
            found.append(Reply(str(status), description))
            continue
        for content_type, media in content.items():
            schema = media.get("schema")
            if isinstance(schema, dict) and schema.get("$ref") == FASTAPI_VALIDATION_ERROR:
                found.append(Reply(str(status), description, content_type, bob_error=True))
                continue
            empty = not isinstance(schema, dict) or not schema or schema.get("$ref") == BOB_ERROR
            found.append(
                Reply(
                    str(status),
                    description,
                    content_type,
                    node=None if empty else schema_node(schema, resolver),
                    examples=examples_of(media, resolver) if "json" in content_type else (),
                )
            )
    return tuple(found)


def from_openapi(document: JSON, seed: Iterable[tuple[str, str]] = SEED_OPERATIONS) -> Reference:
    """The reference for an OpenAPI document."""
    resolver = Resolver(document)
    seed_set = set(seed)
    grouped: dict[str, list[Operation]] = {}
    anchors: set[str] = set()
    for path, item in (document.get("paths") or {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            upper = method.upper()
            anchor = slug(f"{method} {path}")
            while anchor in anchors:
                anchor += "-"
            anchors.add(anchor)
            tags = tuple(operation.get("tags") or (UNTAGGED,))
            if "security" in operation or "security" in document:
                requirements = operation.get("security", document.get("security")) or []
                schemes = tuple(sorted({name for req in requirements for name in req}))
                access = Access("scheme", schemes=schemes) if schemes else Access("public")
            else:
                access = access_of(operation)
            grouped.setdefault(tags[0], []).append(
                Operation(
                    method=upper,
                    path=path,
                    anchor=anchor,
                    summary=str(operation.get("summary") or operation.get("operationId") or ""),
                    description=operation.get("description"),
                    tags=tags,
                    access=access,
                    seed=(upper, path) in seed_set,
                    deprecated=bool(operation.get("deprecated", False)),
                    parameters=_parameters([*shared, *operation.get("parameters", [])], resolver),
                    bodies=_bodies(operation, resolver),
                    replies=_replies(operation, resolver),
                )
            )
    described = {
        t["name"]: t.get("description") for t in document.get("tags", []) if isinstance(t, dict)
    }
    info = document.get("info") or {}
    return Reference(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        tags=tuple(
            Tag(
                name=name,
                label=TAG_LABELS.get(name, name.replace("-", " ").replace("_", " ").title()),
                anchor=f"tag-{slug(name)}",
                description=described.get(name),
                operations=tuple(ops),
            )
            for name, ops in grouped.items()
        ),
        seed=tuple(seed),
    )


_built: weakref.WeakKeyDictionary[FastAPI, Reference] = weakref.WeakKeyDictionary()


def build(app: FastAPI) -> Reference:
    """The app's reference; routes do not change once the app is built, so it is made once."""
    reference = _built.get(app)
    if reference is None:
        reference = from_openapi(app.openapi())
        _built[app] = reference
    return reference
