"""The OpenAPI schema says every error as it is sent: ``application/problem+json``.

FastAPI documents a route's declared problems under ``application/json`` too,
and its own 422 as an ``HTTPValidationError`` body that edoc never sends. This
rewrites the generated schema once: every 4xx/5xx answer is the
:class:`api.models.Problem` schema under ``application/problem+json`` only, and
the answers the edge gives any operation are declared where they can occur:

- an operation with a body: 400 (unparseable), 413 (too large, before it is read), 422;
- an operation with parameters: 422 (out of range, malformed); path parameters: 404;
- every operation: 503 (a service edoc depends on is unavailable).

``tests/api/test_schema_fuzz.py`` holds the service to this schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .errors import PROBLEM_MEDIA_TYPE

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_DESCRIPTIONS = {
    404: "Nothing is found at this path",
    400: "The body cannot be parsed",
    413: "The body is larger than its limit (refused before it is read)",
    422: "A parameter or the body is not valid",
    503: "A service edoc depends on is unavailable; retry later",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}}


#: OpenAPI links: where an answer's values go next (a stateful fuzzer follows them)
_LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("post", "/v1/documents", "201"): {
        "GetDocument": ("get", "/v1/documents/{doc_id}", {"doc_id": "$response.body#/id"}),
        "DownloadAsHolder": ("get", "/v1/documents/{doc_id}/pdf",
                             {"doc_id": "$response.body#/id", "token": "$response.body#/holder_token"}),
        "RevokeDocument": ("post", "/v1/documents/{doc_id}/revoke", {"doc_id": "$response.body#/id"}),
        "VerifyById": ("get", "/v1/verify/{doc_id}", {"doc_id": "$response.body#/id"}),
    },
    ("post", "/v1/documents/{doc_id}/revoke", "200"): {
        "DownloadRevoked": ("get", "/v1/documents/{doc_id}/pdf", {"doc_id": "$response.body#/id"}),
        "VerifyRevoked": ("get", "/v1/verify/{doc_id}", {"doc_id": "$response.body#/id"}),
    },
    ("post", "/v1/keys", "201"): {
        "RevokeKey": ("post", "/v1/keys/{key_id}/revoke", {"key_id": "$response.body#/id"}),
    },
}


def _add_links(schema: dict[str, Any]) -> None:
    paths = schema.get("paths", {})
    for (method, path, status), links in _LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        for name, (to_method, to_path, parameters) in links.items():
            target = paths.get(to_path, {}).get(to_method)
            if target is not None and "operationId" in target:
                response.setdefault("links", {})[name] = {
                    "operationId": target["operationId"], "parameters": parameters}


def problem_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a generated OpenAPI document) with every error declared as problem+json."""
    _add_links(schema)
    for item in schema.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            extra = [503]
            if "requestBody" in op:
                extra += [400, 413, 422]
            if op.get("parameters"):
                extra.append(422)
            if any(p.get("in") == "path" for p in op.get("parameters", [])):
                extra.append(404)  # nothing there, or a value no route can take (e.g. with a "/")
            for status in extra:
                responses.setdefault(str(status), _problem(_DESCRIPTIONS[status]))
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    description = response.get("description") or _DESCRIPTIONS.get(int(status), "Problem")
                    if description == "Validation Error":
                        description = _DESCRIPTIONS[422]
                    responses[status] = _problem(description)
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve ``app``'s schema rewritten by :func:`problem_schema` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_schema(get_openapi(
                title=app.title, version=app.version, summary=app.summary, description=app.description,
                routes=app.routes, tags=app.openapi_tags, servers=app.servers,
            ))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
