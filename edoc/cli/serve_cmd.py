"""``edoc serve``: run the HTTP service with uvicorn.

On first start it creates the home (built-in PKI) and a first admin API key,
printed once. Before listening it builds the app, which loads every key and the
TSA: a wrong passphrase or a missing TSA stops it here with a message.
With ``--workers N`` each worker builds its app from the environment
(``api.app:app_from_env``), listens on its own ``SO_REUSEPORT`` socket (see
``_workers``), and metrics are aggregated across workers.
"""

from __future__ import annotations

import os

from ..home import Home
from ._common import EXIT_OK, EXIT_USAGE, CliError, settings_from
from ._workers import APP, HAS_REUSEPORT, serve_workers
from .apikey_cmds import create_key

_ANY = ("0.0.0.0", "::", "")


def register(sub) -> None:
    """Add the command of this module."""
    p = sub.add_parser("serve", help="run the HTTP API (first start creates the home and an admin key)")
    p.add_argument("--host", help="address to listen on (default: setting host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: setting port, 8000)")
    p.add_argument("--workers", type=int, help="worker processes (default: setting workers, 1)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.add_argument("--forwarded-allow-ips",
                   help="proxies whose X-Forwarded-For is trusted (default: 127.0.0.1); "
                        "rate limits apply to the client address this yields")
    p.set_defaults(func=cmd_serve)


def ensure_first_admin(home: Home) -> str | None:
    """On a registry without any API key, create an admin key and return its secret."""
    registry = home.registry()
    if registry.list_api_keys():
        return None
    _key, secret = create_key(registry, agency=home.settings.agency_id, roles={"admin"},
                              label="first admin (edoc serve)", actor="system:serve")
    return secret


def _multiprocess_metrics(home: Home) -> None:
    from api.metrics import MULTIPROC_ENV

    if os.environ.get(MULTIPROC_ENV):
        return
    directory = home.path / "run" / "prometheus"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # values of a previous run's workers
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)


def cmd_serve(args) -> int:
    import uvicorn

    from api.app import create_app

    settings = settings_from(args)
    overrides = {k: getattr(args, k) for k in ("host", "port", "workers") if getattr(args, k) is not None}
    settings = settings.model_copy(update=overrides)
    if settings.workers < 1:
        raise CliError("--workers must be at least 1", EXIT_USAGE)
    first = not (settings.pki_dir / "seal.pem").exists()
    if first and "public_base_url" not in settings.model_fields_set and settings.host not in _ANY:
        # the URL goes into the certificates' AIA/CRL links: make it the one being served
        settings = settings.model_copy(update={"public_base_url": f"http://{settings.host}:{settings.port}"})
    home = Home.create(settings) if first else Home.open(settings)
    if first:
        print(f"created edoc home {home.path} with a built-in PKI", flush=True)
    app = create_app(home.settings, home=home, freeze_heap=True)  # fails early on keys, TSA, registry
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
    proxy = {"forwarded_allow_ips": args.forwarded_allow_ips} if args.forwarded_allow_ips else {}
    if s.workers == 1:
        uvicorn.run(app, host=s.host, port=s.port, log_level=args.log_level, **proxy)
        return EXIT_OK
    os.environ["EDOC_HOME"] = str(home.path)  # the workers read their settings from here
    _multiprocess_metrics(home)
    options = dict(host=s.host, port=s.port, log_level=args.log_level, **proxy)
    if HAS_REUSEPORT:  # a socket per worker, so connections spread evenly (see _workers)
        run_dir = home.path / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        return serve_workers(options, s.workers, run_dir)
    uvicorn.run(APP, factory=True, workers=s.workers, **options)
    return EXIT_OK
