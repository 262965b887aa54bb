"""Errors raised by the certs package."""

from __future__ import annotations


class CertsError(Exception):
    """Root of the errors raised by :mod:`certs`."""

    def diagnostics(self) -> str:
        """A text for people: what went wrong and what to do."""
        return str(self)


class KeyLoadError(CertsError):
    """A key or certificate file cannot be read (missing, wrong passphrase, wrong format)."""


class PkiNotFound(CertsError):
    """The PKI folder does not hold what it should; run ``edoc init`` first."""
