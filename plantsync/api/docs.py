"""What ``/docs`` shows: example helpers for the routes and the error responses of every route.

Routes show a request example with ``body(...)`` and a response example with
``answers(...)``; the example values live next to the routers (``routes/*_examples.py``).

Error responses are declared once, here. ``install_openapi(app)`` documents, on every
operation, the errors its declaration implies, each with the one error body
``{"code", "message", "errors"}`` (``ErrorBody``) and an example:

- 401 when the route needs a caller, 403 when it needs more than the viewer role;
- 404 when the path names a resource (``/{id}``);
- 422 when it takes parameters or a body (FastAPI's own ``detail`` list is never answered),
  400 when it takes a JSON body (invalid JSON).

Anything else a route can answer (409, 429, ...) it declares itself with ``errors(...)`` or
``error(...)``; a route's own declaration of a status wins over the generated one.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeGuard

from fastapi import Body, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import Example
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from plantsync.core.principal import Role

ERROR_REF = "#/components/schemas/ErrorBody"
Responses = dict[int | str, Any]


class ErrorBody(BaseModel):
    """Every error answer: a stable machine-readable ``code``, a sentence, and bad fields."""

    code: str = Field(description="e.g. not_found, validation_error, conflict")
    message: str
    errors: dict[str, list[str]] = Field(description="field -> messages; empty when no field")


# The default example of each error status: (code, message, errors, description).
_ERRORS: dict[int, tuple[str, str, dict[str, list[str]], str]] = {
    400: ("invalid_json", "The request body is not valid JSON", {}, "The body is not JSON"),
    401: (
        "not_authenticated",
        "Authentication required: send a Bearer token or an X-API-Key",
        {},
        "No valid credentials (answered with `WWW-Authenticate: Bearer`)",
    ),
    403: ("permission_denied", "This action needs the admin role", {}, "The role is not enough"),
    404: (
        "not_found",
        "Machine 8e4f2a6b-3c1d-4f5e-8a9b-7c6d5e4f3a21 not found",
        {},
        "Not found in the caller's tenant",
    ),
    409: ("conflict", "The request conflicts with the current state", {}, "Conflict"),
    422: (
        "validation_error",
        "Invalid value for: limit",
        {"limit": ["Input should be less than or equal to 500"]},
        "Bad fields, each named in `errors`",
    ),
    429: (
        "rate_limited",
        "Too many failed logins for this account; try again later",
        {},
        "Rate-limited (answered with `Retry-After`)",
    ),
}


def body(summary: str, value: dict[str, Any], **kwargs: Any) -> Any:
    """A ``Body`` with one named request example."""
    return Body(openapi_examples={"example": {"summary": summary, "value": value}}, **kwargs)


def body_choices(choices: dict[str, tuple[str, dict[str, Any]]], **kwargs: Any) -> Any:
    """A ``Body`` with several named request examples: ``{name: (summary, value)}``."""
    examples = {
        name: Example(summary=summary, value=value) for name, (summary, value) in choices.items()
    }
    return Body(openapi_examples=examples, **kwargs)


def answers(
    example: Any, status: int = 200, description: str = "Success", *, model: Any = None
) -> Responses:
    """``responses=`` showing ``example`` for the success ``status``.

    ``model`` gives the schema of a status other than the route's own (e.g. a 200 next to
    the usual 201); the route's own status takes its ``response_model``.
    """
    content = {"application/json": {"example": example}}
    entry: dict[str, Any] = {"description": description, "content": content}
    if model is not None:
        entry["model"] = model
    return {status: entry}


def page(*items: dict[str, Any], next_cursor: str | None = None) -> dict[str, Any]:
    """A list answer holding ``items``."""
    return {"items": list(items), "next_cursor": next_cursor}


def error(
    status: int,
    message: str,
    errors: dict[str, list[str]] | None = None,
    *,
    code: str | None = None,
    description: str | None = None,
) -> Responses:
    """``responses=`` for one error ``status`` with this example message (and fields)."""
    default_code, _, _, default_description = _ERRORS.get(status, ("error", "", {}, "Error"))
    example = {"code": code or default_code, "message": message, "errors": errors or {}}
    content = {"application/json": {"schema": {"$ref": ERROR_REF}, "example": example}}
    return {status: {"description": description or default_description, "content": content}}


def errors(*statuses: int) -> Responses:
    """``responses=`` for ``statuses`` with their default example bodies."""
    out: Responses = {}
    for status in statuses:
        code, message, fields, description = _ERRORS[status]
        out |= error(status, message, fields, code=code, description=description)
    return out


# --- the generated error responses -----------------------------------------------------------


def install_openapi(app: FastAPI) -> None:
    """Makes ``app.openapi()`` document every route's errors with ``ErrorBody``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _build(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, openapi_version=app.openapi_version,
        summary=app.summary, description=app.description, routes=app.routes,
        tags=app.openapi_tags, servers=app.servers,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )  # fmt: skip
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema()
    for route in _api_routes(app):
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _restore_examples(operation, route)
                _document_errors(operation["responses"], route.dependant)
    _drop_unused(schema, ("HTTPValidationError", "ValidationError"))
    return schema


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """The documented API routes as included (router prefix and dependencies applied)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def _restore_examples(operation: dict[str, Any], route: Any) -> None:
    """Puts the route's examples back as written: FastAPI drops ``None`` values from them
    (it serialises the document with ``exclude_none``), which would leave required
    nullable fields out of the examples."""
    for status, declared in route.responses.items():
        for media_type, media in declared.get("content", {}).items():
            if "example" in media:
                target = operation["responses"][str(status)]["content"][media_type]
                target["example"] = media["example"]
    body_params = route.dependant.body_params
    if len(body_params) == 1 and "requestBody" in operation:
        examples = getattr(body_params[0].field_info, "openapi_examples", None)
        if examples:
            for media in operation["requestBody"]["content"].values():
                media["examples"] = examples


def _document_errors(responses: dict[str, Any], dependant: Dependant) -> None:
    for status, entry in implied_errors(dependant).items():
        current = responses.get(str(status))
        if current is None or _is_fastapi_validation(current):
            responses[str(status)] = entry
    for status, current in responses.items():
        if status.isdigit() and int(status) in _ERRORS and "content" not in current:
            # Declared with a description only: its sentence becomes the example message.
            message = current.get("description") or _ERRORS[int(status)][1]
            responses[status] = error(int(status), message, description=message)[int(status)]
    ordered = sorted(responses.items(), key=lambda item: item[0])
    responses.clear()
    responses.update(ordered)


def implied_errors(dependant: Dependant) -> Responses:
    """The error responses a route's parameters imply (see the module docstring)."""
    out: Responses = {}
    role = _required_role(dependant)
    if role is not None:
        out |= errors(401)
        if role is not Role.viewer:
            out |= error(403, f"This action needs the {role.value} role")
    if dependant.path_params:
        name = dependant.path_params[0].name
        thing = name.removesuffix("_id").replace("_", " ").capitalize()
        out |= error(404, f"{thing} 8e4f2a6b-3c1d-4f5e-8a9b-7c6d5e4f3a21 not found")
    if dependant.body_params:
        out |= errors(400)
    if dependant.body_params or dependant.query_params or dependant.path_params:
        field, problem = _invalid_field(dependant)
        out |= error(422, f"Invalid value for: {field}", {field: [problem]})
    return out


def _invalid_field(dependant: Dependant) -> tuple[str, str]:
    """A believable bad field of the route for its 422 example."""
    if dependant.body_params:
        model = dependant.body_params[0].field_info.annotation
        schema: dict[str, Any] = model.model_json_schema() if _is_model(model) else {}
        required = schema.get("required", [])
        if required:
            return str(required[0]), "Field required"
    if dependant.path_params:
        return dependant.path_params[0].name, "Input should be a valid UUID"
    names = [param.alias or param.name for param in dependant.query_params]
    if "limit" in names:
        return "limit", "Input should be less than or equal to 500"
    if names:
        return names[0], "Input should be a valid value"
    return "body", "Input should be a valid dictionary or object"


def _is_model(annotation: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _required_role(dependant: Dependant) -> Role | None:
    """The role the route's ``requires(...)`` asks for; ``viewer`` for a bare caller."""
    from plantsync.api.deps import get_principal

    role: Role | None = None
    for call in _calls(dependant):
        if call is get_principal and role is None:
            role = Role.viewer
        needed = _role_of_check(call)
        if needed is not None and (role is None or not role.allows(needed)):
            role = needed
    return role


def _role_of_check(call: Callable[..., Any]) -> Role | None:
    # ``requires(role)`` builds a closure over ``role``; read it rather than guess from names.
    if not inspect.isfunction(call) or call.__qualname__ != "requires.<locals>.check":
        return None
    value = inspect.getclosurevars(call).nonlocals.get("role")
    return value if isinstance(value, Role) else None


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _is_fastapi_validation(entry: dict[str, Any]) -> bool:
    schema = entry.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _drop_unused(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    """Removes FastAPI's validation-error definitions once no operation refers to them."""
    components = schema["components"]["schemas"]
    if "/HTTPValidationError" not in json.dumps(schema["paths"]):
        for name in names:
            components.pop(name, None)
