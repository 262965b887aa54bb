"""API keys: admins create and revoke them over HTTP and with `edoc keys`; secrets are shown once."""

from __future__ import annotations

import json

import pytest

from edoc.cli import main

from .conftest import AGENCY, OTHER_AGENCY


def test_admin_creates_a_key_that_works_at_once(client, keys, api_home):
    r = client.post("/v1/keys", json={"agency": AGENCY, "roles": ["issuer"], "label": "registrar office"},
                    headers=keys.admin.headers)
    assert r.status_code == 201
    created = r.json()
    assert created["secret"].startswith("edoc_")
    assert created["roles"] == ["issuer"] and created["active"] is True
    listing = client.get("/v1/documents", headers={"Authorization": f"Bearer {created['secret']}"})
    assert listing.status_code == 200
    entry = api_home.registry().audit.entries(event="apikey.created")[-1]
    assert (entry.actor, entry.subject, entry.agency) == (keys.admin.key.id, created["id"], AGENCY)
    assert created["secret"] not in json.dumps(entry.to_json())


def test_secrets_are_never_listed(client, keys):
    r = client.get("/v1/keys", headers=keys.admin.headers)
    assert r.status_code == 200
    # an agency admin lists its own agency's keys only (issue 17, finding 3)
    assert keys.issuer.key.id in {k["id"] for k in r.json()}
    assert {k["agency"] for k in r.json()} == {AGENCY}
    assert all("secret" not in k for k in r.json())
    assert keys.issuer.secret not in r.text
    other = client.get("/v1/keys", params={"agency": OTHER_AGENCY}, headers=keys.admin.headers)
    assert other.status_code == 404
    everything = client.get("/v1/keys", headers=keys.platform.headers).json()
    assert {k["id"] for k in everything} >= {keys.issuer.key.id, keys.other_issuer.key.id}
    only_other = client.get("/v1/keys", params={"agency": OTHER_AGENCY}, headers=keys.platform.headers).json()
    assert {k["agency"] for k in only_other} == {OTHER_AGENCY}


def test_revoked_key_is_refused_with_401(client, keys, api_home):
    r = client.post(f"/v1/keys/{keys.issuer.key.id}/revoke", headers=keys.admin.headers)
    assert r.status_code == 200
    assert r.json()["active"] is False and r.json()["revoked_at"]
    again = client.get("/v1/documents", headers=keys.issuer.headers)
    assert again.status_code == 401
    assert "revoked" in again.json()["detail"]
    entry = api_home.registry().audit.entries(event="apikey.revoked")[-1]
    assert (entry.actor, entry.subject) == (keys.admin.key.id, keys.issuer.key.id)


def test_revoking_an_unknown_key_is_404(client, keys):
    r = client.post("/v1/keys/ak_0000000000000000/revoke", headers=keys.admin.headers)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["issuer", "auditor", "other_issuer"])
def test_only_admins_manage_keys(client, keys, role):
    headers = getattr(keys, role).headers
    assert client.get("/v1/keys", headers=headers).status_code == 403
    r = client.post("/v1/keys", json={"agency": AGENCY, "roles": ["admin"]}, headers=headers)
    assert r.status_code == 403
    assert "admin" in r.json()["detail"]
    assert client.post(f"/v1/keys/{keys.admin.key.id}/revoke", headers=headers).status_code == 403


def test_an_agency_admin_acts_within_its_own_agency_only(client, keys):
    # issue 17, finding 3: an admin of agency B creates no key for A, revokes none of A's
    r = client.post("/v1/keys", json={"agency": AGENCY, "roles": ["issuer"]}, headers=keys.other_admin.headers)
    assert r.status_code == 404
    r = client.post(f"/v1/keys/{keys.issuer.key.id}/revoke", headers=keys.other_admin.headers)
    assert r.status_code == 404
    assert client.get("/v1/documents", headers=keys.issuer.headers).status_code == 200
    mine = client.post("/v1/keys", json={"agency": OTHER_AGENCY, "roles": ["issuer"]},
                       headers=keys.other_admin.headers)
    assert mine.status_code == 201 and mine.json()["agency"] == OTHER_AGENCY


def test_a_platform_key_creates_admin_keys_only(client, keys):
    r = client.post("/v1/keys", json={"agency": OTHER_AGENCY, "roles": ["admin"]}, headers=keys.platform.headers)
    assert r.status_code == 201
    r = client.post("/v1/keys", json={"agency": OTHER_AGENCY, "roles": ["issuer"]}, headers=keys.platform.headers)
    assert r.status_code == 403
    r = client.post("/v1/keys", json={"agency": "no-such-agency", "roles": ["admin"]}, headers=keys.platform.headers)
    assert r.status_code == 404


def test_key_management_needs_a_key(client):
    assert client.get("/v1/keys").status_code == 401


def test_bad_key_request_names_the_fields(client, keys):
    r = client.post("/v1/keys", json={"agency": "Bad Agency!", "roles": ["owner"]}, headers=keys.admin.headers)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"agency", "roles.0"}
    r = client.post("/v1/keys", json={"agency": AGENCY, "roles": []}, headers=keys.admin.headers)
    assert [e["field"] for e in r.json()["errors"]] == ["roles"]


def test_a_key_for_an_agency_the_service_does_not_serve_is_refused(client, keys):
    # an agency admin acts within its own agency: any other agency, real or not, is a 404
    r = client.post("/v1/keys", json={"agency": "moe", "roles": ["issuer"]}, headers=keys.admin.headers)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/v1/keys", json={"agency": "moe", "roles": ["admin"]}, headers=keys.platform.headers)
    assert r.status_code == 404 and "moe" in r.json()["detail"]


# -- edoc keys ... ---------------------------------------------------------------------------


def test_cli_creates_lists_and_revokes_keys(api_home, capsys):
    home = str(api_home.path)
    assert main(["--home", home, "keys", "create", "--agency", AGENCY, "--role", "issuer",
                 "--role", "auditor", "--label", "exam board", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["roles"] == ["auditor", "issuer"] and created["agency"] == AGENCY
    key = api_home.registry().authenticate(created["secret"])
    assert key is not None and key.id == created["id"]

    assert main(["--home", home, "keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["id"] for k in listed] == [created["id"]]
    assert "secret" not in listed[0]

    assert main(["--home", home, "keys", "revoke", created["id"]]) == 0
    assert "revoked" in capsys.readouterr().out
    assert api_home.registry().authenticate(created["secret"]) is None
    events = [e.event for e in api_home.registry().audit.entries()]
    assert events == ["apikey.created", "apikey.revoked"]


def test_cli_refuses_a_key_for_an_agency_this_home_does_not_serve(api_home, capsys):
    assert main(["--home", str(api_home.path), "keys", "create", "--agency", "moe",
                 "--role", "issuer"]) == 2
    err = capsys.readouterr().err
    assert "unknown agency 'moe'" in err and AGENCY in err
    assert api_home.registry().list_api_keys() == []
    assert [e.event for e in api_home.registry().audit.entries()] == []


def test_cli_key_defaults_to_the_homes_agency_and_prints_the_secret_once(api_home, capsys):
    assert main(["--home", str(api_home.path), "keys", "create", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    assert f"agency: {AGENCY}" in out
    assert out.count("edoc_") == 1


def test_cli_rejects_unknown_roles_and_ids(api_home, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(api_home.path), "keys", "create", "--role", "owner"])
    assert exc.value.code == 2
    assert main(["--home", str(api_home.path), "keys", "revoke", "ak_0000000000000000"]) == 1
    assert "no API key" in capsys.readouterr().err
