"""Errors of the edoc domain core.

Every error a person can cause derives from :class:`EdocError`; entry points
(CLI, HTTP) turn it into a message and an exit code / problem document, and
never show a traceback.
"""

from __future__ import annotations


class EdocError(Exception):
    """Root of every error edoc raises on purpose."""

    #: short machine-readable kind, used as the problem ``type`` suffix over HTTP
    kind = "error"
    #: HTTP status an API answer maps this error to
    http_status = 400

    def diagnostics(self) -> str:
        """A text for people: what went wrong and what to do."""
        return str(self)


class ConfigurationError(EdocError):
    """The home or the settings are missing or inconsistent."""

    kind = "configuration"
    http_status = 500


class NotFound(EdocError):
    """A named thing (template, document, key) does not exist."""

    kind = "not-found"
    http_status = 404


class FieldError(EdocError):
    """One input field is invalid; ``field`` is a dotted path such as ``holder.id``."""

    kind = "invalid-data"
    http_status = 422

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DataInvalid(EdocError):
    """Input data failed validation; ``errors`` lists every failing field."""

    kind = "invalid-data"
    http_status = 422

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors) or "invalid data")

    def diagnostics(self) -> str:
        return "The data is not valid:\n" + "\n".join(f"  - {e}" for e in self.errors)


class TemplateInvalid(ConfigurationError):
    """A template folder cannot be used: a file is missing or does not follow the format."""

    kind = "template-invalid"


class TextOverflow(FieldError):
    """A value is too long for the space its template gives it."""

    kind = "text-overflow"


class EmblemMissing(ConfigurationError):
    """The agency's emblem is configured, but the file is not there or is not an image."""

    kind = "emblem-missing"
