"""Credentials before bodies: a request a route would refuse for its API key is
refused before one byte of its body is read.

FastAPI reads and parses a route's body *before* it solves the route's
dependencies, so a 20 MB JSON body sent without any key used to be received and
parsed (the server grew by ~115 MB) only to be answered 401. This ASGI middleware
stands between the route and its body: when the route asks for the body's first
byte and it authenticates (:func:`api.deps.optional_key` is among its
dependencies), the credentials are checked first. A missing key where one is
required (:func:`api.deps.current_key`), or a key that is unknown, revoked or
malformed, is answered 401 problem+json instead; the body is never received and
the server closes the connection unread.

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
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class CredentialsRefused(StarletteHTTPException):
    """Raised from ``receive`` instead of the body's first byte: 401.

    An ``HTTPException`` on purpose, like :class:`api.errors.BodyTooLarge`:
    FastAPI re-raises those while reading a body, and the problem handler answers.
    """

    def __init__(self, detail: str):
        super().__init__(401, detail, headers={"WWW-Authenticate": 'Bearer realm="edoc"'})


class AuthBeforeBody:
    """ASGI middleware: 401 instead of the body for routes whose key is missing or bad.

    The check runs when the route first asks for its body (the router has then
    matched the route, so ``scope["route"]`` says what it depends on), before
    the body's first byte is received. ``authenticate(secret)`` returns the key
    or None; ``optional`` and ``required`` are the dependency callables that
    mark a route as authenticating.
    """

    def __init__(self, app: ASGIApp, *, authenticate: Callable[[str], Any],
                 optional: Callable[..., Any], required: Callable[..., Any]):
        self.app = app
        self._authenticate = authenticate
        self._optional = optional
        self._required = required
        self._needs: dict[int, str | None] = {}

    def _need(self, route: Any) -> str | None:
        """"required", "optional" or None (the route never looks at keys)."""
        if not isinstance(route, APIRoute):
            return None
        key = id(route)
        if key not in self._needs:
            calls = _calls(route.dependant)
            self._needs[key] = ("required" if self._required in calls
                                else "optional" if self._optional in calls else None)
        return self._needs[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        checked = False

        async def receive_after_credentials() -> Message:
            nonlocal checked
            if not checked:
                checked = True
                await self._check(scope)
            return await receive()

        await self.app(scope, receive_after_credentials, send)

    async def _check(self, scope: Scope) -> None:
        need = self._need(scope.get("route"))
        if need is None:
            return
        secret = credential(Headers(scope=scope))
        if secret is None:
            if need == "required":
                raise CredentialsRefused("this endpoint needs an API key: send "
                                         "`Authorization: Bearer <key>` or `X-API-Key: <key>`")
            return
        key = await run_in_threadpool(self._authenticate, secret)
        if key is None:
            raise CredentialsRefused("the API key is unknown or has been revoked")
        scope.setdefault("state", {})[STATE_KEY] = key
