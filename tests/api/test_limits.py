"""Oversized bodies are refused before they are read whole; public rate limits refill."""

from __future__ import annotations

import socket
import time

import pytest

from api.errors import RateLimited
from api.limits import RateLimiter

PROBLEM = "application/problem+json"
LIMIT = 50_000


@pytest.fixture
def api_settings():
    return {"max_upload_bytes": LIMIT, "max_json_bytes": LIMIT}


def test_upload_over_the_limit_is_413(client):
    r = client.post("/v1/verify", files={"file": ("big.pdf", b"%PDF" + b"0" * LIMIT, "application/pdf")})
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM
    assert str(LIMIT) in r.json()["detail"]


def test_upload_at_the_limit_is_read(client):
    r = client.post("/v1/verify", files={"file": ("big.pdf", b"%PDF" + b"0" * (LIMIT - 4), "application/pdf")})
    assert r.status_code == 200
    assert r.json()["verdict"] == "invalid"


def test_raw_body_over_the_limit_is_413(client):
    r = client.post("/v1/verify", content=b"0" * (LIMIT + 1), headers={"Content-Type": "application/pdf"})
    assert r.status_code == 413
    assert r.json()["type"].endswith("/payload-too-large")


def test_streamed_body_without_length_is_cut_at_the_limit(client):
    def chunks():
        for _ in range(40):
            yield b"0" * 8192

    r = client.post("/v1/verify", content=chunks(), headers={"Content-Type": "application/pdf"})
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM


def test_json_bodies_are_limited_too(client, keys):
    body = b'{"template": "certificate", "data": {"x": "' + b"y" * LIMIT + b'"}}'
    r = client.post("/v1/documents", content=body,
                    headers={**keys.issuer.headers, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM


def _http_head(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode())
    return sock


def _read_status(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    return int(data.split(b" ", 2)[1]), data


def test_declared_length_over_the_limit_is_refused_before_the_body_is_sent(live_server):
    port = int(live_server.rsplit(":", 1)[1])
    sock = _http_head(port, "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                            "Content-Length: 10000000000\r\n\r\n")
    with sock:
        status, raw = _read_status(sock)  # answered although not one body byte was sent
    assert status == 413
    assert b"application/problem+json" in raw


def test_chunked_upload_is_cut_off_early(live_server):
    port = int(live_server.rsplit(":", 1)[1])
    sock = _http_head(port, "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"0" * 16384
    sent = 0
    with sock:
        sock.settimeout(0.05)
        status = None
        for _ in range(2000):  # would be 32 MB: far more than the limit
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
            except OSError:
                break  # the server closed the connection
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # the answer is there
            except TimeoutError:
                continue
            except OSError:
                break
        sock.settimeout(10)
        status, _ = _read_status(sock)
    assert status == 413
    assert sent < 4 * LIMIT


def test_rate_limiter_refills_and_keeps_clients_apart():
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(RateLimited) as exc:
        limiter.check("a")
    assert exc.value.retry_after == 30  # one token every 30 s at 2 a minute
    limiter.check("b")  # another client has its own bucket
    now[0] += 30
    limiter.check("a")
    with pytest.raises(RateLimited):
        limiter.check("a")


def test_rate_limiter_zero_disables():
    limiter = RateLimiter(0)
    for _ in range(1000):
        limiter.check("a")


def test_rate_limiter_memory_is_bounded():
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0], max_clients=100)
    for i in range(1000):
        limiter.check(f"10.0.{i // 256}.{i % 256}")
        now[0] += 0.5
    assert len(limiter._buckets) <= 100


def test_rate_limit_waits_are_whole_seconds():
    limiter = RateLimiter(1000, clock=time.monotonic)
    with pytest.raises(RateLimited) as exc:
        for _ in range(2000):
            limiter.check("a")
    assert exc.value.retry_after >= 1


# -- keeping the workers even ---------------------------------------------------------


def _balanced_app(loads, **kw):
    from api.limits import WorkerBalance

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    return WorkerBalance(app, loads=loads, **kw)


def _answer(app) -> dict[bytes, bytes]:
    import asyncio

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    asyncio.run(app({"type": "http", "method": "GET", "path": "/"}, receive, send))
    return dict(sent[0]["headers"])


def test_worker_loads_are_shared_through_the_file(tmp_path):
    from api.limits import WorkerLoads

    path = tmp_path / "loads"
    WorkerLoads.create(path, 2)
    one, two = WorkerLoads(path, 0), WorkerLoads(path, 1)
    for _ in range(3):
        one.started()
    assert one.overloaded() and not two.overloaded()
    two.started()
    assert one.overloaded()  # 3 against 1
    one.finished()
    assert not one.overloaded()  # 2 against 1: even enough
    with pytest.raises(ValueError):
        WorkerLoads(path, 2)


def test_a_busier_worker_lets_a_connection_go_and_an_even_one_keeps_it(tmp_path):
    from api.limits import WorkerLoads

    path = tmp_path / "loads"
    WorkerLoads.create(path, 2)
    busy, idle = WorkerLoads(path, 0), WorkerLoads(path, 1)
    app = _balanced_app(busy, interval=0)
    assert b"connection" not in _answer(app)  # 1 in flight (this one) against 0
    busy.started()  # another request waits here: with this one, 2 against 0
    assert _answer(app)[b"connection"] == b"close"
    idle.started()
    assert b"connection" not in _answer(app)  # 2 against 1
    assert busy._counts[0] == 1  # each answered request was counted out again


def test_connections_are_let_go_at_most_once_per_interval(tmp_path):
    from api.limits import WorkerLoads

    path = tmp_path / "loads"
    WorkerLoads.create(path, 2)
    busy = WorkerLoads(path, 0)
    for _ in range(5):
        busy.started()
    app = _balanced_app(busy, interval=60)
    closes = [_answer(app).get(b"connection") for _ in range(3)]
    assert closes == [b"close", None, None]
