"""``edoc batch submit|status|results|cancel|resume|list`` and ``edoc worker``.

Locally (the home of this machine) a batch runs on the executor the settings
choose: Celery workers when ``EDOC_BROKER_URL`` is set, else an embedded process
pool that this command runs itself (so it waits for the batch to end). With
``--url`` and ``--api-key`` (or ``EDOC_API_KEY``) the same commands talk to an edoc
server's ``/v1/batches`` instead.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from edoc.batches.results import pdf_entries
from edoc.batches.service import batch_view

from ._common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, open_home, settings_from

_ENDED = ("done", "rejected", "cancelled")


def register(sub) -> None:
    """Add the commands of this module."""
    b = sub.add_parser("batch", help="issue a whole spreadsheet (CSV, XLSX, JSONL) of documents")
    bs = b.add_subparsers(dest="batch_command", metavar="ACTION")
    bs.required = True

    s = bs.add_parser("submit", help="check a file and issue one document per row")
    s.add_argument("file")
    s.add_argument("--template", required=True)
    s.add_argument("--format", choices=("csv", "xlsx", "jsonl"), help="default: from the file name")
    s.add_argument("--encoding", help="CSV encoding (default: UTF-8 with or without BOM, else cp874)")
    s.add_argument("--key-column", help="column holding each row's idempotency key")
    s.add_argument("--lang", help="document language (th or en)")
    s.add_argument("--level", choices=("B-B", "B-T", "B-LT", "B-LTA"))
    s.add_argument("--all-or-nothing", action="store_true", help="issue nothing while any row is bad")
    s.add_argument("--dry-run", action="store_true", help="report every problem, issue nothing")
    s.add_argument("--wait", action="store_true", help="wait for the batch to end, showing progress")
    s.add_argument("--webhook-url", help="POSTed (HMAC-signed) when the batch ends")
    s.add_argument("--webhook-secret", help="HMAC key for the webhook (or EDOC_WEBHOOK_SECRET)")
    _common(s)
    s.set_defaults(func=cmd_submit)

    st = bs.add_parser("status", help="a batch's state and counts")
    st.add_argument("id")
    st.add_argument("--wait", action="store_true")
    _common(st)
    st.set_defaults(func=cmd_status)

    r = bs.add_parser("results", help="per row: document id, verify URL, SHA-256 or the error")
    r.add_argument("id")
    r.add_argument("--out", help="write the results here (default: stdout)")
    r.add_argument("--results-format", choices=("csv", "jsonl"), help="default: from --out, else csv")
    r.add_argument("--pdfs", help="also write every issued PDF into this ZIP")
    _common(r)
    r.set_defaults(func=cmd_results)

    c = bs.add_parser("cancel", help="stop a batch: queued rows are not issued")
    c.add_argument("id")
    _common(c)
    c.set_defaults(func=cmd_cancel)

    re_ = bs.add_parser("resume", help="hand a batch's queued rows to the executor again")
    re_.add_argument("id")
    re_.add_argument("--wait", action="store_true")
    _common(re_)
    re_.set_defaults(func=cmd_resume)

    ls = bs.add_parser("list", help="this agency's batches, newest first")
    ls.add_argument("--limit", type=int, default=20)
    _common(ls)
    ls.set_defaults(func=cmd_list)

    w = sub.add_parser("worker", help="run a Celery worker issuing batch rows (needs EDOC_BROKER_URL)")
    w.add_argument("--concurrency", type=int, help="processes (default: one per core)")
    w.add_argument("--hostname", help="Celery node name (default: edoc@HOST)")
    w.set_defaults(func=cmd_worker)


def _common(p) -> None:
    p.add_argument("--url", help="an edoc server (default: this machine's home)")
    p.add_argument("--api-key", help="issuer key for --url (or EDOC_API_KEY)")
    p.add_argument("--json", action="store_true", help="print the batch as the API returns it")
    p.add_argument("--message-lang", choices=("th", "en"), default="th",
                   help="language of problem messages (default th)")


# -- local or remote ---------------------------------------------------------------------


class _Local:
    def __init__(self, args, *, run: bool):
        self.home = open_home(args)
        from edoc.batches.runtime import executor_for, service_for

        self.executor = None
        if run:
            # before this process opens the registry: the pool's processes are forked clean
            self.executor = executor_for(self.home, mp_context="fork")
            if self.executor.name == "embedded":
                self.executor.warm()  # type: ignore[attr-defined]
        self.service = service_for(self.home, self.executor)

    @property
    def embedded(self) -> bool:
        return self.executor is not None and self.executor.name == "embedded"

    def view(self, batch_id: str) -> dict[str, Any]:
        return batch_view(self.service, self.service.get(batch_id))

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()


class _Remote:
    def __init__(self, args):
        import httpx

        key = args.api_key or os.environ.get("EDOC_API_KEY")
        if not key:
            raise CliError("--url needs --api-key (or EDOC_API_KEY): an issuer key of the agency", EXIT_USAGE)
        self.http = httpx.Client(base_url=args.url.rstrip("/"), timeout=120,
                                 headers={"Authorization": f"Bearer {key}"})

    def call(self, method: str, path: str, **kw):
        import httpx

        try:
            answer = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach {self.http.base_url}: {exc}") from exc
        if answer.status_code >= 400:
            try:
                problem = answer.json()
                detail = problem.get("detail") or problem.get("title")
                errors = problem.get("errors") or []
                if errors:
                    detail += "\n" + "\n".join(f"  - {e.get('field')}: {e.get('message')}" for e in errors)
            except ValueError:
                detail = answer.text[:200]
            raise CliError(f"{answer.status_code}: {detail}")
        return answer

    def view(self, batch_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v1/batches/{batch_id}").json()

    def close(self) -> None:
        self.http.close()


# -- commands -----------------------------------------------------------------------------


def _options(args):
    from edoc.batches import BatchOptions

    return BatchOptions(
        template=args.template, format=args.format, encoding=args.encoding,
        key_column=args.key_column, lang=args.lang, level=args.level,
        all_or_nothing=args.all_or_nothing, webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret or os.environ.get("EDOC_WEBHOOK_SECRET"),
    )


def cmd_submit(args) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"cannot read {args.file}: no such file", EXIT_USAGE)
    if args.url:
        return _submit_remote(args, path)
    local = _Local(args, run=not args.dry_run)
    try:
        if args.dry_run:
            report = local.service.check(path, _options(args))
            return _print_check(report.as_dict(), args)
        batch = local.service.submit(path, _options(args), source_name=path.name, actor="cli")
        view = local.view(batch.id)
        if not args.json:
            _print_accepted(view, local.service, batch.id, args.message_lang)
        if local.embedded or args.wait:
            # the embedded pool lives in this process: the batch runs while we wait
            view = _wait(local.view, batch.id, args)
        return _finish(view, args)
    finally:
        local.close()


def _submit_remote(args, path: Path) -> int:
    remote = _Remote(args)
    try:
        o = _options(args)
        fields = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in {
            "template": o.template, "format": o.format, "encoding": o.encoding,
            "key_column": o.key_column, "lang": o.lang, "level": o.level,
            "all_or_nothing": o.all_or_nothing, "dry_run": args.dry_run,
            "webhook_url": o.webhook_url, "webhook_secret": o.webhook_secret,
        }.items() if v is not None}
        with path.open("rb") as fh:
            answer = remote.call("POST", "/v1/batches", data=fields, files={"file": (path.name, fh)},
                                 headers={"Accept-Language": args.message_lang})
        body = answer.json()
        if args.dry_run:
            return _print_check(body, args)
        if not args.json:
            print(f"batch {body['id']}: {body['total']} rows, {body['queued']} queued, "
                  f"{body['invalid']} invalid")
        if args.wait:
            body = _wait(remote.view, body["id"], args)
        return _finish(body, args)
    finally:
        remote.close()


def _print_check(report: dict[str, Any], args) -> int:
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for p in report["problems"]:
            where = f"row {p['row']}" + (f", {p['column']}" if p["column"] else "")
            print(f"{where}: {p[args.message_lang]}")
        print(f"{report['total']} rows: {report['valid']} valid, {report['total'] - report['valid']} "
              f"with problems (dry run: nothing issued)")
    return EXIT_OK if not report["problems"] else EXIT_FAIL


def _print_accepted(view: dict[str, Any], service, batch_id: str, lang: str) -> None:
    print(f"batch {view['id']}: {view['total']} rows, {view['queued']} queued, {view['invalid']} invalid")
    shown = 0
    for r in service.results(batch_id, lang=lang):
        if r.state == "invalid" and shown < 20:
            print(f"  row {r.row}: {r.error}")
            shown += 1
    if view["invalid"] > shown:
        print(f"  ... and {view['invalid'] - shown} more (edoc batch results {batch_id})")
    if view["state"] == "rejected":
        print("rejected: --all-or-nothing and a row is bad, so nothing was issued")


def _finish(view: dict[str, Any], args) -> int:
    if args.json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
    elif view["state"] in _ENDED:
        print(f"{view['state']}: {view['issued']} issued, {view['failed']} failed, "
              f"{view['invalid']} invalid, {view['cancelled']} cancelled")
    else:
        print(f"{view['state']}: follow it with `edoc batch status {view['id']} --wait`")
    if view["state"] not in _ENDED:
        return EXIT_OK
    clean = view["state"] == "done" and not (view["failed"] or view["invalid"])
    return EXIT_OK if clean else EXIT_FAIL


def _wait(view_of, batch_id: str, args) -> dict[str, Any]:
    bar = _Progress(enabled=True)  # on stderr: stdout stays the JSON for scripts
    while True:
        view = view_of(batch_id)
        bar.show(view)
        if view["state"] in _ENDED:
            bar.end()
            return view
        time.sleep(0.5)


class _Progress:
    """A progress bar with rate and ETA on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, *, enabled: bool):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._drawn = False

    def show(self, v: dict[str, Any]) -> None:
        if not self.enabled:
            return
        todo = max(v["total"] - v["invalid"], 0)
        done = v["issued"] + v["failed"] + v["cancelled"]
        rate = f"{v['rate']:.1f} docs/s" if v.get("rate") else "-- docs/s"
        eta = _eta(v.get("eta_seconds"))
        if self.tty:
            width = 30
            filled = int(width * done / todo) if todo else width
            line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{todo} {rate} ETA {eta}  "
            sys.stderr.write(line)
            sys.stderr.flush()
            self._drawn = True
        elif time.monotonic() - self._last >= 5 or v["state"] in _ENDED:
            self._last = time.monotonic()
            print(f"{v['state']}: {done}/{todo} rows, {v['issued']} issued, {v['failed']} failed, "
                  f"{rate}, ETA {eta}", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self._drawn:
            sys.stderr.write("\n")


def _eta(seconds) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def cmd_status(args) -> int:
    client = _Remote(args) if args.url else _Local(args, run=False)
    try:
        view = client.view(args.id)
        if args.wait:
            view = _wait(client.view, args.id, args)
        if args.json:
            print(json.dumps(view, ensure_ascii=False, indent=2))
        else:
            for k in ("id", "state", "template", "total", "queued", "issued", "failed", "invalid",
                      "cancelled", "rate", "eta_seconds", "created_at", "finished_at"):
                if view.get(k) is not None:
                    print(f"{k:<12} {view[k]}")
        return EXIT_OK
    finally:
        client.close()


def cmd_results(args) -> int:
    fmt = args.results_format or ("jsonl" if args.out and args.out.endswith(".jsonl") else "csv")
    if args.url:
        remote = _Remote(args)
        try:
            answer = remote.call("GET", f"/v1/batches/{args.id}/results", params={"format": fmt},
                                 headers={"Accept-Language": args.message_lang})
            _write(args.out, [answer.text])
            if args.pdfs:
                with remote.http.stream("GET", f"/v1/batches/{args.id}/documents.zip") as z:
                    if z.status_code >= 400:
                        raise CliError(f"{z.status_code}: cannot download the documents")
                    with open(args.pdfs, "wb") as fh:
                        for chunk in z.iter_bytes():
                            fh.write(chunk)
        finally:
            remote.close()
        return EXIT_OK
    from edoc.batches.results import csv_lines, jsonl_lines, zip_stream

    local = _Local(args, run=False)
    try:
        rows = local.service.results(args.id, lang=args.message_lang)
        _write(args.out, csv_lines(rows, bom=bool(args.out)) if fmt == "csv" else jsonl_lines(rows))
        if args.pdfs:
            with open(args.pdfs, "wb") as fh:
                for chunk in zip_stream(pdf_entries(local.service, local.home.issuer(), args.id)):
                    fh.write(chunk)
            print(f"written: {args.pdfs}", file=sys.stderr)
    finally:
        local.close()
    return EXIT_OK


def _write(out: str | None, chunks) -> None:
    if out is None:
        for c in chunks:
            sys.stdout.write(c)
        return
    with open(out, "w", encoding="utf-8", newline="") as fh:
        for c in chunks:
            fh.write(c)
    print(f"written: {out}", file=sys.stderr)


def cmd_cancel(args) -> int:
    if args.url:
        remote = _Remote(args)
        try:
            view = remote.call("POST", f"/v1/batches/{args.id}/cancel").json()
        finally:
            remote.close()
    else:
        local = _Local(args, run=False)
        try:
            local.service.cancel(args.id)
            view = local.view(args.id)
        finally:
            local.close()
    if args.json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
    else:
        print(f"{view['id']}: {view['state']} ({view['issued']} issued, {view['cancelled']} cancelled)")
    return EXIT_OK


def cmd_resume(args) -> int:
    if args.url:
        raise CliError("resume runs on the machine of the home (a server resumes its own)", EXIT_USAGE)
    local = _Local(args, run=True)
    try:
        n = local.service.dispatch(local.service.get(args.id).id)
        view = local.view(args.id)
        if not args.json:
            print(f"{args.id}: {n} ranges of rows handed to the {local.executor.name} executor")  # type: ignore[union-attr]
        if local.embedded or args.wait:
            view = _wait(local.view, args.id, args)
        return _finish(view, args)
    finally:
        local.close()


def cmd_list(args) -> int:
    if args.url:
        remote = _Remote(args)
        try:
            items = remote.call("GET", "/v1/batches", params={"limit": args.limit}).json()["items"]
        finally:
            remote.close()
    else:
        local = _Local(args, run=False)
        try:
            items = [batch_view(local.service, b)
                     for b in local.service.batches.list_batches(agency=local.service.agency, limit=args.limit)]
        finally:
            local.close()
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
    for v in [] if args.json else items:
        print(f"{v['id']}  {v['state']:<9} {v['template']:<12} {v['issued']}/{v['total']} issued  "
              f"{v['created_at'][:19]}")
    return EXIT_OK


def cmd_worker(args) -> int:
    from edoc.home import Home

    settings = settings_from(args)
    if not settings.broker_url:
        raise CliError("edoc worker needs EDOC_BROKER_URL (e.g. amqp://guest:guest@127.0.0.1:5672//)",
                       EXIT_USAGE)
    home = Home.open(settings)
    home.check_keys()  # a wrong passphrase or PIN stops the worker now, not at the first row
    home.registry()
    from edoc.batches.celery_app import configure, worker_argv

    app = configure(settings)
    app.worker_main(worker_argv(args.concurrency or os.cpu_count() or 1, hostname=args.hostname))
    return EXIT_OK


def print_template_csv(tpl, lang: str | None) -> int:
    """``edoc templates show NAME --csv``: the columns of a batch file and the example row."""
    import csv

    from edoc.batches.validate import csv_header, example_row

    lang = lang or tpl.languages[0]
    example = example_row(tpl, lang) if lang in tpl.examples else {}
    columns = list(example) + [c for c in csv_header(tpl) if c not in example]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow(["" if example.get(c) is None else example[c] for c in columns])
    return EXIT_OK
