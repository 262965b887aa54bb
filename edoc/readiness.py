"""Load everything a service's requests need, so that a misconfiguration fails at start-up.

Used by ``edoc serve`` before it starts uvicorn (a wrong passphrase, a missing
TSA or an unreachable registry is an ``edoc: ...`` message and exit 1, not a
traceback in a worker) and by ``api.app.create_app`` in every worker.
"""

from __future__ import annotations

import logging

from .home import Home
from .render import warm_up

log = logging.getLogger(__name__)


def check_ready(home: Home) -> None:
    """Open keys, sealer, registry, store, templates and issuer; warm the render caches.

    Also warms the home's caches before requests run in threads at once.
    """
    home.check_keys()  # seal and TSA keys open and sign (file or PKCS#11 token)
    home.sealer()  # the configured level has its timestamper
    home.registry()  # reachable, schema migrated
    home.store()
    home.templates()
    home.issuer()  # also upgrades a single-agency home in place (edoc/agencies/upgrade.py)
    check_agencies(home)
    home.revocation()  # CRL/OCSP service (None for an imported seal)
    warm_up()  # fonts and the Thai dictionary, once per process, not in the first request


def check_agencies(home: Home) -> None:
    """Open every active agency's seal key now (one that waits for its certificate is skipped)."""
    from .agencies.runtime import SealNotReady

    for record in home.registry().agencies.list():
        if record.active:
            try:
                home.sealer(agency=record.id)
            except SealNotReady:
                log.warning("agency %s has no seal certificate yet; it cannot issue", record.id)
