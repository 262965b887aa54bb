"""The agencies of a platform: onboarding, seals, branding, templates, keys and upgrades.

One edoc deployment serves many agencies; each keeps its own legal identity
(its seal key and certificate), its templates and branding, its API keys and its
own audit chain. :func:`known_agency` is the single lookup entry points use.
"""

from .service import (
    PLATFORM_AGENCY,
    AgencyDisabled,
    AgencyNotFound,
    AgencyService,
    NewAgency,
    known_agency,
    require_active,
)

__all__ = [
    "PLATFORM_AGENCY",
    "AgencyDisabled",
    "AgencyNotFound",
    "AgencyService",
    "NewAgency",
    "known_agency",
    "require_active",
]
