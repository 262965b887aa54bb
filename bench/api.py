"""HTTP throughput of a real ``edoc serve``: issuance and verify-by-id under wrk.

Starts ``edoc serve`` on loopback with one worker per core on a fresh home,
creates an issuer API key with ``edoc keys create``, then loads it with wrk
(Debian's ``wrk``): ``POST /v1/documents`` (Thai certificate, B-T with the
built-in TSA) at concurrency 32, and ``GET /v1/verify/{id}`` over ids issued
before. ``GET /healthz`` at the same concurrency is the reference: what the
HTTP stack itself gives on this machine. wrk runs on the same cores as the
server, so the figures include the load generator's own cost.

Those runs saturate the server: every connection sends its next request as
soon as the last one is answered, so their latencies are queueing at full
load. The ``verify_by_id_paced_*`` run asks the latency question at a given
load instead: requests leave on a fixed schedule of ``--paced-rate`` a second
(1,000 by default, the target) over the same connections, and the achieved
rate is printed beside the p50/p99 it got (one wrk thread drives it).

The per-client rate limit (setting ``rate_limit_per_minute``) would cap one load
generator at 120 verifications a minute; the bench home sets it high.

    python bench/api.py --duration 20

Prints ``name: value`` lines; any non-2xx answer or socket error fails the run,
and an issued PDF downloaded through the API is checked with pyHanko, pdfsig and
``openssl ts -verify`` before any figure is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    PASSPHRASE,
    check_outputs,
    free_port,
    install_patches,
    machine,
    make_home,
    print_figure,
    tempdir,
)
from bench.issuance import THAI_DATA_LANG, _data  # noqa: E402

EDOC = str(Path(sys.executable).with_name("edoc"))


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


# Requests leave on a fixed schedule, RATE a second for the thread: each connection,
# when free, takes the next unclaimed send time (LuaJIT's ffi reads the monotonic
# clock). A connection that falls behind sends at once; missed slots are not made
# up, so a slow server shows as a lower achieved rate beside its latencies.
_PACED_LUA = """
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } edoc_timespec;
           int clock_gettime(int, edoc_timespec *); ]]
local ts = ffi.new("edoc_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval, next_slot = 1000 / RATE, 0
delay = function()
  local now = now_ms()
  if next_slot < now then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval
  return math.floor(wait + 0.5)
end
"""


def _wrk(url: str, script: Path, *, duration: int, connections: int, threads: int) -> dict:
    """Run wrk and parse its summary (requests/s, p50/p99 in ms, errors)."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
         "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        value, unit = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        figures[f"p{pct}_ms"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    figures["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise SystemExit(f"wrk saw failed requests on {url}:\n{out}")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--ids", type=int, default=100, help="documents issued for verify-by-id")
    parser.add_argument("--paced-rate", type=int, default=1000,
                        help="requests/s offered in the paced verify-by-id run")
    args = parser.parse_args(argv)
    install_patches()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/api.py needs wrk (apt-get install wrk)")
    import httpx

    work = tempdir("edoc-bench-api-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = make_home(work / "home", public_base_url=url, rate_limit_per_minute=10**9)
    env = {**os.environ, "EDOC_HOME": str(home.path), "EDOC_KEY_PASSPHRASE": PASSPHRASE}
    created = subprocess.run([EDOC, "keys", "create", "--role", "issuer", "--label", "bench", "--json"],
                             env=env, capture_output=True, text=True, check=True).stdout
    secret = json.loads(created)["secret"]
    server = subprocess.Popen(
        [EDOC, "serve", "--port", str(port), "--workers", str(args.workers), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"edoc serve did not come up:\n{server.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
        auth = {"Authorization": f"Bearer {secret}"}
        body = {"template": "certificate", "data": _data(home, 0), "lang": THAI_DATA_LANG}
        ids, issued = [], None
        with httpx.Client(base_url=url, headers=auth, timeout=30) as client:
            for _ in range(max(args.ids, 1)):  # also warms every worker up
                reply = client.post("/v1/documents", json=body)
                reply.raise_for_status()
                issued = reply.json()
                ids.append(issued["id"])
            pdf = client.get(issued["holder_download_url"])
            pdf.raise_for_status()
            check_outputs(home, [pdf.content], work, serve_revocation=False)  # the server answers OCSP

        issue_lua = work / "issue.lua"
        issue_lua.write_text(
            'wrk.method = "POST"\n'
            f"wrk.body = {_lua_string(json.dumps(body, ensure_ascii=False))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {secret}"\n'
        )
        verify_lua = work / "verify.lua"
        verify_lua.write_text(
            "local ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n"
            'request = function() return wrk.format("GET", "/v1/verify/" .. ids[math.random(#ids)]) end\n'
        )
        paced_lua = work / "paced.lua"
        paced_lua.write_text(verify_lua.read_text() + _PACED_LUA.replace("RATE", str(args.paced_rate)))
        plain_lua = work / "plain.lua"
        plain_lua.write_text("")
        threads = min(2, args.connections)
        run = dict(duration=args.duration, connections=args.connections, threads=threads)
        health = _wrk(f"{url}/healthz", plain_lua, **run)
        verify = _wrk(url, verify_lua, **run)
        # one wrk thread is plenty at this rate, and leaves the other core to the server
        paced = _wrk(url, paced_lua, **{**run, "threads": 1})
        issue = _wrk(f"{url}/v1/documents", issue_lua, **run)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    print_figure("machine", machine())
    print_figure("server_workers", args.workers)
    print_figure("load_generator", f"wrk -t{threads} -c{args.connections} -d{args.duration}s (same machine)")
    print_figure("paced_offered_per_s", args.paced_rate)
    for name, fig in (("issue", issue), ("verify_by_id", verify), ("verify_by_id_paced", paced),
                      ("healthz_reference", health)):
        print_figure(f"{name}_requests", fig["requests"])
        print_figure(f"{name}_per_s", fig["rps"])
        print_figure(f"{name}_p50_ms", fig["p50_ms"])
        print_figure(f"{name}_p99_ms", fig["p99_ms"])
    print_figure("outputs_checked", "1 downloaded PDF (pyHanko, pdfsig, openssl ts); all answers 2xx")


if __name__ == "__main__":
    main()
