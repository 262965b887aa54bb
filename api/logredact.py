"""Secrets in URLs never reach the logs: ``?token=`` (a holder's download link) is redacted.

uvicorn's access log writes each request's path with its query string; a holder
token there would let anyone who reads the logs download the document. The
filter rewrites the record's arguments before any handler formats them, for
the access log and for any other logger it is added to.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAM = re.compile(r"(?i)([?&](?:token|holder_token|secret|api_key)=)[^&#\s\"]*")
REDACTED = "[redacted]"

#: the loggers whose records may carry a request URL
URL_LOGGERS = ("uvicorn.access", "uvicorn.error", "api", "api.errors")


def redact(text: str) -> str:
    """``text`` with the values of secret query parameters replaced by ``[redacted]``."""
    return _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts secret query parameters in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "=" in record.msg:
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install(names: tuple[str, ...] = URL_LOGGERS) -> None:
    """Add :class:`RedactSecrets` to each named logger, once."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
