"""``edoc serve``: run the HTTP service with uvicorn.

On first start it creates the home (built-in PKI) and a first admin API key,
printed once. Before listening it loads every key, the TSA and the registry
(``edoc.readiness``): a wrong passphrase or a missing TSA stops it here with a
message. It refuses to serve where the home's links (public base URL in QR
codes and certificates) do not point (``_links``). uvicorn then builds the app
in each worker from the environment (``api.app:app_from_env``, an import
string: the ``edoc`` package never imports ``api``). With ``--workers N`` each
worker listens on its own ``SO_REUSEPORT`` socket (see ``_workers``), and
metrics are aggregated across workers.
"""

from __future__ import annotations

import os
from typing import Any

from ..home import Home
from ..readiness import check_ready
from ._common import EXIT_OK, EXIT_USAGE, CliError, settings_from
from ._links import link_mismatch
from ._workers import APP, HAS_REUSEPORT, answers, serve_workers
from .apikey_cmds import create_key

_ANY = ("0.0.0.0", "::", "")
#: prometheus_client's multiprocess folder; api.metrics aggregates the workers' files in it
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def register(sub) -> None:
    """Add the command of this module."""
    p = sub.add_parser("serve", help="run the HTTP API (first start creates the home and an admin key)")
    p.add_argument("--host", help="address to listen on (default: setting host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: setting port, 8000)")
    p.add_argument("--workers", type=int, help="worker processes (default: setting workers, 1)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument("--forwarded-allow-ips",
                   help="proxies (comma-separated IPs/CIDRs) whose X-Forwarded-For is trusted "
                        "(default: setting forwarded_allow_ips, none - not even loopback); "
                        "rate limits apply to the client address this yields")
    p.set_defaults(func=cmd_serve)


def proxy_options(allow_ips: str) -> dict[str, Any]:
    """uvicorn's proxy options: X-Forwarded-* are read only from the proxies named.

    uvicorn on its own trusts them from 127.0.0.1, so any local client (or a
    proxy that passes the header through) chose its own rate-limit bucket.
    """
    allow = ",".join(p.strip() for p in allow_ips.split(",") if p.strip())
    if not allow:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": allow}


def ensure_first_admin(home: Home) -> str | None:
    """On a registry without any API key, create an admin key and return its secret."""
    registry = home.registry()
    if registry.list_api_keys():
        return None
    _key, secret = create_key(registry, agency=home.settings.agency_id, roles={"admin"},
                              label="first admin (edoc serve)", actor="system:serve")
    return secret


def _multiprocess_metrics(home: Home) -> None:
    if os.environ.get(MULTIPROC_ENV):
        return
    directory = home.path / "run" / "prometheus"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # values of a previous run's workers
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)


def _worker_environment(home: Home, overrides: dict[str, object]) -> None:
    """What uvicorn's app factory reads: this home, and the settings given on the command line."""
    os.environ["EDOC_HOME"] = str(home.path)
    for name, value in overrides.items():
        os.environ[f"EDOC_{name.upper()}"] = str(value)


def cmd_serve(args) -> int:
    import uvicorn

    settings = settings_from(args)
    overrides: dict[str, object] = {
        k: getattr(args, k) for k in ("host", "port", "workers") if getattr(args, k) is not None
    }
    settings = settings.model_copy(update=overrides)
    if settings.workers < 1:
        raise CliError("--workers must be at least 1", EXIT_USAGE)
    first = not (settings.pki_dir / "seal.pem").exists()
    if first and "public_base_url" not in settings.model_fields_set and settings.host not in _ANY:
        # the URL goes into the certificates' AIA/CRL links: make it the one being served
        overrides["public_base_url"] = f"http://{settings.host}:{settings.port}"
        settings = settings.model_copy(update={"public_base_url": overrides["public_base_url"]})
    if answers(settings.host, settings.port):
        raise CliError(f"something already answers on {settings.host}:{settings.port}", EXIT_USAGE)
    if not first:
        mismatch = link_mismatch(settings.public_base_url, settings.host, settings.port)
        if mismatch:
            raise CliError(mismatch, EXIT_USAGE)
    home = Home.create(settings) if first else Home.open(settings)
    if first:
        print(f"created edoc home {home.path} with a built-in PKI", flush=True)
    check_ready(home)  # fails early on keys, TSA, registry, with a message
    secret = ensure_first_admin(home)
    if secret is not None:
        print(f"first admin API key of agency {home.settings.agency_id} (its own keys and settings; "
              f"shown this once, stored only hashed):\n  {secret}", flush=True)
        print("to onboard more agencies: `edoc platform-key` makes a platform key; "
              "see README \"Onboard an agency\"", flush=True)
    s = home.settings
    print(f"edoc serving on http://{s.host}:{s.port} (public URL {s.public_base_url}, "
          f"{s.workers} worker{'s' if s.workers != 1 else ''})", flush=True)
    if s.storage_backend == "local":
        print(f"storage: local folder {s.objects_dir} and {s.effective_database_url.split(':')[0]} "
              "(one machine, no retention locks; use S3 and PostgreSQL in production)", flush=True)
    _worker_environment(home, overrides)  # every worker (and the single one) reads its settings here
    proxy = proxy_options(args.forwarded_allow_ips if args.forwarded_allow_ips is not None
                          else s.forwarded_allow_ips)
    options = dict(host=s.host, port=s.port, log_level=args.log_level, **proxy)
    if s.workers == 1:
        uvicorn.run(APP, factory=True, **options)
        return EXIT_OK
    _multiprocess_metrics(home)
    if HAS_REUSEPORT:  # a socket per worker, so connections spread evenly (see _workers)
        run_dir = home.path / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        return serve_workers(options, s.workers, run_dir)
    uvicorn.run(APP, factory=True, workers=s.workers, **options)
    return EXIT_OK
