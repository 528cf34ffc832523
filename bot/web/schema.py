"""The OpenAPI schema of the web doors, with the typed bodies the routes read themselves.

The routes parse their bodies with `bot.web.jsonsafe` (bounded) rather than FastAPI's own
parser, so FastAPI cannot see the body models; `body(Model)` declares one on a route
(`openapi_extra`) and `openapi(app)` adds the models to `components/schemas`. The schema is not
served (the app has no /openapi.json); the fuzz suite builds it with `app.openapi()`.
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_MODELS: dict[str, type[BaseModel]] = {}
REF = "#/components/schemas/{model}"

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "code"],
    "properties": {"error": {"type": "string"}, "code": {"type": "string"},
                   "error_en": {"type": "string"}, "detail": {}},
}
ERRORS = {str(code): {"description": text, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}
    for code, text in ((400, "refused body"), (401, "no session / operator token"),
                       (404, "not found"), (413, "too large"), (415, "not JSON / not UTF-8"),
                       (429, "too fast"), (503, "database unavailable"))}


def body(model: type[BaseModel], *, extra_content: dict | None = None,
         json_schema: dict | None = None) -> dict:
    """`openapi_extra` for a route whose JSON body is `model` (or the given JSON schema)."""
    _MODELS[model.__name__] = model
    content = {"application/json": {"schema": json_schema or {"$ref": REF.format(model=model.__name__)}}}
    content.update(extra_content or {})
    return {"requestBody": {"required": True, "content": content}, "responses": ERRORS}


def register(*models: type[BaseModel]) -> None:
    for model in models:
        _MODELS[model.__name__] = model


def openapi(app: FastAPI) -> dict:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Error"] = ERROR_SCHEMA
        for name, model in _MODELS.items():
            definition = model.model_json_schema(ref_template=REF)
            components.update(definition.pop("$defs", {}))
            components[name] = definition
        app.openapi_schema = schema
    return app.openapi_schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: openapi(app)     # type: ignore[method-assign]
