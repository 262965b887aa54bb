"""The edoc HTTP service (FastAPI): issuance for agencies, verification for everyone.

>>> from api.app import create_app  # doctest: +SKIP
>>> app = create_app(Settings())    # or: edoc serve [--host --port --workers]  # doctest: +SKIP

Endpoints and who may call them (keys: ``Authorization: Bearer <secret>`` or ``X-API-Key``):

====================================  ===============================================
``POST /v1/documents``                issuer of this service's agency; ``Idempotency-Key``
``GET  /v1/documents``                issuer or auditor, own agency only
``GET  /v1/documents/{id}``           issuer or auditor of the document's agency
``GET  /v1/documents/{id}/pdf``       issuer or auditor of its agency, or ``?token=`` (holder)
``POST /v1/documents/{id}/revoke``    issuer of the document's agency
``POST /v1/verify``                   public, rate-limited (multipart ``file`` or raw PDF)
``GET  /v1/verify/{id}``              public, rate-limited, data-minimised
``GET  /v1/audit[/verify]``           auditor (own agency) or admin (every agency)
``POST|GET /v1/keys``, ``.../revoke`` admin
``POST /tsa``                         public, rate-limited (RFC 3161)
``GET  /pki/...``, CRL, ``/ocsp``     public
``GET  /healthz``, ``/metrics``       public (restrict /metrics at the proxy if needed)
====================================  ===============================================

Another agency's document ids are answered 404, exactly like missing ones.
Every error is ``application/problem+json`` (see :mod:`api.errors`). Routes live
in :mod:`api.routes`, one ``APIRouter`` per resource; shared dependencies in
:mod:`api.deps`; the app's services on ``app.state.edoc`` (:class:`api.state.ServiceState`).
"""
