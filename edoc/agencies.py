"""Which agencies this installation knows: the ones an API key may be created for.

Today a home serves one agency, its ``agency_id`` setting; a key for any other
agency could never issue (403 at its first request), so creating one is refused.
This is the one place to ask: when an agencies table exists, it consults it.
"""

from __future__ import annotations

from .settings import Settings


def known_agencies(settings: Settings) -> tuple[str, ...]:
    """The agency ids this installation serves."""
    return (settings.agency_id,)


def known_agency(agency: str, settings: Settings) -> bool:
    """Whether ``agency`` is one this installation serves."""
    return agency in known_agencies(settings)
