"""The errors of PKCS#11 tokens: each says what to fix."""

from __future__ import annotations

from ..errors import CertsError


class TokenError(CertsError):
    """A PKCS#11 module, token or key cannot be used."""


class TokenNotFound(TokenError):
    """The module is loaded but no token has the configured label."""


class TokenLoginFailed(TokenError):
    """The PIN is missing, wrong or locked."""


class TokenKeyNotFound(TokenError):
    """The token holds no private key with the configured label or id."""


class TokenKeyMismatch(TokenError):
    """The key in the token does not belong to the certificate it is configured with."""


class TokenUnavailable(TokenError):
    """The token stopped answering and could not be re-opened."""
