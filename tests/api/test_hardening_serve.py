"""Issue 17, findings 5 and 7 as an operator runs ``edoc serve``: a real process, a real port.

- From loopback, ``X-Forwarded-For`` used to choose the rate-limit bucket (uvicorn
  trusts proxy headers from 127.0.0.1 unless told otherwise): 300 requests with
  fresh values never saw a 429.
- The access log used to carry holder tokens in full.
"""

from __future__ import annotations

import copy
import time

import httpx

from edoc.cli.serve_cmd import proxy_options
from edoc.templates import TemplateLibrary

from .test_serve import serving


def test_forwarded_headers_from_loopback_choose_no_bucket_and_tokens_stay_out_of_the_log(tmp_path):
    with serving(tmp_path / "home") as served:
        admin = served.wait_for("edoc_").strip()
        served.wait_for("edoc serving on")
        served.wait_healthy()
        with httpx.Client(base_url=served.url, timeout=60) as c:
            issuer = c.post("/v1/keys", json={"agency": "serve-agency", "roles": ["issuer"]},
                            headers={"Authorization": f"Bearer {admin}"}).json()["secret"]
            data = copy.deepcopy(dict(TemplateLibrary.builtin().get("certificate").examples["th"]))
            doc = c.post("/v1/documents", json={"template": "certificate", "data": data},
                         headers={"Authorization": f"Bearer {issuer}"}).json()
            token = doc["holder_token"]
            r = c.get(f"/v1/documents/{doc['id']}/pdf", params={"token": token})
            assert r.status_code == 200 and r.content.startswith(b"%PDF")

            started = time.monotonic()
            statuses = [
                c.get(f"/v1/verify/nosuchdocument{i}",
                      headers={"X-Forwarded-For": f"198.51.100.{i % 250}, 10.0.{i // 250}.1",
                               "Forwarded": f"for=192.0.2.{i % 250}"}).status_code
                for i in range(300)
            ]
            # the default budget is 120 a minute for the one real client (already one download
            # spent, two tokens back a second): the rest are 429, whatever the headers said
            refilled = 2 * (time.monotonic() - started)
            assert statuses.count(429) >= 300 - 120 - refilled - 1 > 0, statuses
            assert set(statuses) <= {404, 429}
        line = served.wait_for(f"/v1/documents/{doc['id']}/pdf")
        time.sleep(0.5)
    assert "token=[redacted]" in line
    assert not any(token in printed for printed in served.lines)


def test_serve_trusts_forwarded_headers_only_from_the_proxies_named():
    assert proxy_options("") == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert proxy_options(" , ") == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert proxy_options("10.0.0.5, 10.1.0.0/16") == {
        "proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.1.0.0/16"}


def test_rate_limits_follow_the_proxy_named_and_ipv6_clients_share_a_64(make_home):
    # uvicorn's proxy middleware as edoc serve configures it when a proxy is named
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    from api.app import create_app

    from .conftest import serve_in_thread

    home = make_home(rate_limit_per_minute=5)
    app = ProxyHeadersMiddleware(create_app(home.settings, home=home),
                                 trusted_hosts=proxy_options("127.0.0.1")["forwarded_allow_ips"])
    for base in serve_in_thread(app):  # type: ignore[arg-type]
        with httpx.Client(base_url=base) as c:
            # behind a named proxy each forwarded client has its own bucket
            for i in range(10):
                r = c.get("/v1/verify/nosuchdocument", headers={"X-Forwarded-For": f"198.51.100.{i}"})
                assert r.status_code == 404
            # and IPv6 clients of one /64 share one: 5 a minute, whatever their last 64 bits
            codes = [c.get("/v1/verify/nosuchdocument",
                           headers={"X-Forwarded-For": f"2001:db8:1:2::{i:x}"}).status_code for i in range(10)]
            assert codes.count(429) == 5
            other = c.get("/v1/verify/nosuchdocument", headers={"X-Forwarded-For": "2001:db8:1:3::1"})
            assert other.status_code == 404
