"""A newcomer's first commands: readable template help, an example to start from, no back arrow."""

from __future__ import annotations

import json
import subprocess
import sys


def test_templates_show_prints_text_not_a_python_dict(cli):
    code, out, _ = cli("templates", "show", "certificate")
    assert code == 0
    assert "{'th'" not in out and "'en':" not in out
    assert "  th: " in out and "  en: " in out  # the description, one line per language
    assert "--example-json > data.json" in out


def test_example_json_is_plain_json_that_issues(cli, home, tmp_path):
    code, out, _ = cli("templates", "show", "certificate", "--example-json")
    assert code == 0
    data = json.loads(out)  # nothing but the JSON document
    assert data == dict(home.templates().get("certificate").examples["th"])
    holder = tmp_path / "holder.json"
    holder.write_text(out, encoding="utf-8")
    code, out, err = cli("issue", "certificate", "--data", str(holder))
    assert code == 0, err
    assert out.startswith("id: ")
    code, out, _ = cli("templates", "show", "certificate", "--example-json", "--lang", "en")
    assert code == 0 and json.loads(out)["lang"] == "en"


def test_the_cli_never_imports_the_api_package():
    probe = (
        "import sys; from edoc.cli import build_parser; build_parser();"
        "import edoc.cli.serve_cmd, edoc.cli._workers;"
        "bad = sorted(m for m in sys.modules if m == 'api' or m.startswith('api.'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_links_must_point_where_the_service_answers():
    from edoc.cli._links import link_mismatch

    assert link_mismatch("http://127.0.0.1:8000", "127.0.0.1", 8000) is None
    assert link_mismatch("http://localhost:8000", "0.0.0.0", 8000) is None  # every address, loopback included
    assert link_mismatch("https://edoc.agency.go.th", "127.0.0.1", 9000) is None  # behind a proxy
    message = link_mismatch("http://127.0.0.1:8000", "127.0.0.1", 9000)
    assert message is not None
    assert "edoc serve --host 127.0.0.1 --port 8000" in message
    assert "init --public-base-url http://127.0.0.1:9000" in message
    assert link_mismatch("http://127.0.0.1:8000", "192.0.2.10", 8000) is not None  # loopback URL, other address
