"""Credentials before bodies: a request a route would refuse for its API key is
refused before one byte of its body is read.

FastAPI reads and parses a route's body *before* it solves the route's
dependencies, so a 20 MB JSON body sent without any key used to be received and
parsed (the server grew by ~115 MB) only to be answered 401. This ASGI middleware
finds the route a request is for, and if that route authenticates
(:func:`api.deps.optional_key` is among its dependencies) checks the credentials
first: a missing key where one is required (:func:`api.deps.current_key`), or
a key that is unknown, revoked or malformed, is answered 401 problem+json at
once. The server then closes the connection without reading the body.

The key found here is left in ``scope["state"]`` so the route's dependency does
not look it up a second time. Routes that do not authenticate (public
verification, the pages) are untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import problem

#: where the middleware leaves the key it authenticated (``request.state.<this>``)
STATE_KEY = "edoc_api_key"
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def credential(headers: Headers) -> str | None:
    """The API key secret a request carries (``Authorization: Bearer`` or ``X-API-Key``)."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return headers.get("x-api-key") or None


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    stack = [dependant]
    while stack:
        d = stack.pop()
        if d.call is not None:
            found.add(d.call)
        stack.extend(d.dependencies)
    return found


class AuthBeforeBody:
    """ASGI middleware: 401 before the body for routes whose key is missing or bad.

    ``authenticate(secret)`` returns the key or None; ``optional`` and ``required``
    are the dependency callables that mark a route as authenticating.
    """

    def __init__(self, app: ASGIApp, *, router_app: Any, authenticate: Callable[[str], Any],
                 optional: Callable[..., Any], required: Callable[..., Any]):
        self.app = app
        self._router_app = router_app  # the FastAPI app, whose routes are matched
        self._authenticate = authenticate
        self._optional = optional
        self._required = required
        self._needs: dict[int, str | None] = {}

    def _need(self, route: APIRoute) -> str | None:
        """"required", "optional" or None (the route never looks at keys)."""
        key = id(route)
        if key not in self._needs:
            calls = _calls(route.dependant)
            self._needs[key] = ("required" if self._required in calls
                                else "optional" if self._optional in calls else None)
        return self._needs[key]

    def _route_for(self, scope: Scope) -> APIRoute | None:
        for route in self._router_app.router.routes:
            if isinstance(route, APIRoute) and route.matches(scope)[0] == Match.FULL:
                return route
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        route = self._route_for(scope)
        need = self._need(route) if route is not None else None
        if need is None:
            await self.app(scope, receive, send)
            return
        secret = credential(Headers(scope=scope))
        if secret is None:
            if need == "required":
                await self._refuse(scope, receive, send, "this endpoint needs an API key: send "
                                   "`Authorization: Bearer <key>` or `X-API-Key: <key>`")
                return
            await self.app(scope, receive, send)
            return
        key = await run_in_threadpool(self._authenticate, secret)
        if key is None:
            await self._refuse(scope, receive, send, "the API key is unknown or has been revoked")
            return
        scope.setdefault("state", {})[STATE_KEY] = key
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        response = problem(401, "unauthenticated", detail,
                           headers={"WWW-Authenticate": 'Bearer realm="edoc"', "Connection": "close"})
        await response(scope, receive, send)
