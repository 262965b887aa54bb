"""Errors raised by the signing package."""

from __future__ import annotations


class SigningError(Exception):
    """Root of the errors raised by :mod:`signing`."""

    def diagnostics(self) -> str:
        """A text for people: what went wrong and what to do."""
        return str(self)


class TimestampError(SigningError):
    """No timestamp could be obtained (TSA unreachable, refused, or answered nonsense)."""


class SealError(SigningError):
    """The PDF could not be sealed (unreadable input, misconfigured level, key failure)."""
