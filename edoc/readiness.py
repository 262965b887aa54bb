"""Load everything a service's requests need, so that a misconfiguration fails at start-up.

Used by ``edoc serve`` before it starts uvicorn (a wrong passphrase, a missing
TSA or an unreachable registry is an ``edoc: ...`` message and exit 1, not a
traceback in a worker) and by ``api.app.create_app`` in every worker.
"""

from __future__ import annotations

from .home import Home
from .render import warm_up


def check_ready(home: Home) -> None:
    """Open keys, sealer, registry, store, templates and issuer; warm the render caches.

    Also warms the home's caches before requests run in threads at once.
    """
    home.check_keys()  # seal and TSA keys open and sign (file or PKCS#11 token)
    home.sealer()  # the configured level has its timestamper
    home.registry()  # reachable, schema migrated
    home.store()
    home.templates()
    home.issuer()
    home.revocation()  # CRL/OCSP service (None for an imported seal)
    warm_up()  # fonts and the Thai dictionary, once per process, not in the first request
