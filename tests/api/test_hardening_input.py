"""Issue 17, findings 4, 6 and 8: bodies, credentials and numbers a hostile client sends.

Each test builds the hostile request itself and would fail against the old
behaviour: a body read before the 401, a 500 from a non-ASCII credential, a
500 from an integer too large for the database.
"""

from __future__ import annotations

import socket
import time

import pytest

from api.app import create_app

from .conftest import AGENCY, add_key, example_data

PROBLEM = "application/problem+json"
MB = 1024 * 1024


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _send_head_only(port: int, head: str, wait: float = 10.0) -> tuple[int, bytes, float]:
    """Send a request's headers and no body byte; the status, raw answer and seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            part = sock.recv(65536)  # a server waiting for the body never answers: TimeoutError
            if not part:
                break
            data += part
    return int(data.split(b" ", 2)[1]), data, time.monotonic() - started


def _post_head(path: str, length: int, *extra: str, content_type: str = "application/json") -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Type: {content_type}",
             f"Content-Length: {length}", *extra]
    return "\r\n".join(lines) + "\r\n\r\n"


# -- finding 4: credentials before the body, and a small JSON limit ---------------------------


@pytest.mark.parametrize("length", [20 * MB, 500_000])
def test_unauthenticated_json_is_refused_before_its_body_is_read(live_server, length):
    # Only the headers are sent. The old service waited for the 20 MB (and then parsed
    # them) before its 401: here the socket would time out.
    status, raw, took = _send_head_only(_port(live_server), _post_head("/v1/documents", length))
    assert status == 401
    assert PROBLEM.encode() in raw.lower() and b"www-authenticate" in raw.lower()
    assert took < 5


@pytest.mark.parametrize("credential", [
    "Authorization: Bearer edoc_" + "A" * 43,  # well formed, unknown
    "X-API-Key: not-a-key",
    "Authorization: Bearer \xc3\xa9\xc3\xa9",  # UTF-8 bytes of "éé", read as latin-1
])
def test_a_bad_key_is_refused_before_the_body_is_read(live_server, credential):
    status, raw, _ = _send_head_only(_port(live_server), _post_head("/v1/documents", 500_000, credential))
    assert status == 401 and PROBLEM.encode() in raw


def test_routes_needing_a_key_for_every_body_method_are_guarded(live_server, keys):
    # admin routes too (key creation, key revocation), not only issuance
    port = _port(live_server)
    for path in ("/v1/keys", "/v1/keys/ak_0000000000000000/revoke", "/v1/documents/x/revoke"):
        status, _, _ = _send_head_only(port, _post_head(path, 500_000))
        assert status == 401, path


def test_an_authenticated_json_body_over_its_limit_is_413_before_it_is_read(live_server, keys):
    # 5 MB used to be received and parsed, then answered 422
    head = _post_head("/v1/documents", 5 * MB, f"Authorization: Bearer {keys.issuer.secret}")
    status, raw, took = _send_head_only(_port(live_server), head)
    assert status == 413 and PROBLEM.encode() in raw
    assert b"max_json_bytes" in raw
    assert took < 5


def test_public_uploads_keep_their_own_larger_limit(live_server):
    # a PDF upload of 5 MB is not a JSON body: it is within max_upload_bytes (20 MB)
    status, _, _ = _send_head_only(_port(live_server),
                                   _post_head("/v1/verify", 25 * MB, content_type="application/pdf"))
    assert status == 413  # over the upload limit, refused unread
    import httpx

    r = httpx.post(f"{live_server}/v1/verify", content=b"%PDF-1.7\n" + b"0" * (5 * MB),
                   headers={"Content-Type": "application/pdf"}, timeout=60)
    assert r.status_code == 200 and r.json()["verdict"] == "invalid"


def test_json_limit_is_a_setting(make_home, keys):
    from fastapi.testclient import TestClient

    home = make_home(max_json_bytes=4096)
    issuer = add_key(home, AGENCY, "issuer")
    data = example_data(home)
    data["note"] = "x" * 5000
    with TestClient(create_app(home.settings, home=home)) as c:
        r = c.post("/v1/documents", json={"template": "certificate", "data": data}, headers=issuer.headers)
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM
    assert "4096" in r.json()["detail"] and "max_json_bytes" in r.json()["detail"]


def test_json_limit_is_at_most_a_few_megabytes():
    from pydantic import ValidationError

    from edoc.settings import Settings

    assert Settings(home="/nonexistent").max_json_bytes == MB
    with pytest.raises(ValidationError):
        Settings(home="/nonexistent", max_json_bytes=100 * MB)


# -- finding 6: malformed credentials are a 4xx --------------------------------------------------


@pytest.mark.parametrize("token", [
    "%C3%A9" * 20,  # é: hmac.compare_digest used to raise TypeError on non-ASCII str -> 500
    "%F0%9F%94%91",  # an emoji
    "%FF%FE",  # not UTF-8 at all
    "a.b",  # the new shape, garbage inside
    "zzzzzzzzz.x",  # an expiry too long to be one
    "%00",
])
def test_a_malformed_holder_token_is_a_4xx(client, document, token):
    r = client.get(f"/v1/documents/{document['id']}/pdf?token={token}")
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("headers", [
    [(b"authorization", b"Bearer \xc3\xa9\xc3\xa9")],
    [(b"authorization", b"Bearer \xff\xfe")],
    [(b"x-api-key", b"\xc3\xa9" * 30)],
    [(b"authorization", b"Basic dXNlcjpwYXNz")],
    [(b"authorization", b"Bearer")],
    [(b"x-api-key", b"edoc_" + b"\xe0\xb8\x81" * 43)],  # Thai letters where the secret goes
])
@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/documents"), ("GET", "/v1/audit"), ("GET", "/v1/keys"), ("POST", "/v1/documents"),
    ("GET", "/metrics"),
])
def test_a_malformed_api_key_is_a_4xx(client, headers, method, path):
    r = client.request(method, path, headers=headers, json={"template": "certificate", "data": {}})
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == PROBLEM


def test_a_malformed_key_on_a_holder_download_is_a_4xx(client, document):
    r = client.get(f"/v1/documents/{document['id']}/pdf", headers=[(b"x-api-key", b"\xc3\xa9")])
    assert r.status_code == 401


# -- finding 8: every number a client sends is bounded --------------------------------------------


@pytest.mark.parametrize("value", [str(10**25), str(2**63), str(2**63 - 1), str(2**62 + 1), "-1",
                                   "1" + "0" * 400])
def test_huge_after_seq_is_422(client, keys, value):
    r = client.get(f"/v1/audit?after_seq={value}", headers=keys.auditor.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "after_seq"


@pytest.mark.parametrize("url", ["/v1/audit?limit={}", "/v1/documents?limit={}"])
def test_huge_limits_are_422(client, keys, url):
    for value in (str(10**25), str(2**63)):
        r = client.get(url.format(value), headers=keys.auditor.headers)
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM


def test_the_largest_after_seq_allowed_is_answered(client, keys):
    from api.models import MAX_SEQ

    r = client.get(f"/v1/audit?after_seq={MAX_SEQ}", headers=keys.auditor.headers)
    assert r.status_code == 200 and r.json()["entries"] == []


def test_every_integer_parameter_of_the_api_is_bounded(client):
    # the class, not the one example: any integer a client may send has both bounds
    schema = client.get("/openapi.json").json()
    unbounded = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                s = param.get("schema", {})
                kinds = [s] + s.get("anyOf", [])
                if any(k.get("type") == "integer" for k in kinds):
                    bounded = any("maximum" in k and "minimum" in k for k in kinds)
                    if not bounded:
                        unbounded.append(f"{method.upper()} {path} {param['name']}")
    assert unbounded == []


# -- finding 5: rate-limit buckets -----------------------------------------------------------------


def test_ipv6_clients_are_bucketed_per_64():
    from api.limits import bucket_of

    assert bucket_of("2001:db8:1:2::1") == bucket_of("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert bucket_of("2001:db8:1:3::1") != bucket_of("2001:db8:1:2::1")
    assert bucket_of("::ffff:192.0.2.7") == bucket_of("192.0.2.7") == "192.0.2.7"
    assert bucket_of("unknown") == "unknown"


def test_many_addresses_evict_the_least_recently_used_buckets_not_everyone():
    from api.errors import RateLimited
    from api.limits import RateLimiter

    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0], max_clients=100)
    limiter.check("192.0.2.1")
    limiter.check("192.0.2.1")  # this client's bucket is empty now
    for i in range(1000):  # an attacker cycling through addresses
        limiter.check(f"10.0.{i // 256}.{i % 256}")
        with pytest.raises(RateLimited):  # the old limiter wiped every bucket at its cap
            limiter.check("192.0.2.1")
        now[0] += 0.01
    assert len(limiter) <= 100
