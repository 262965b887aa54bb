"""The audit trail's proofs: TSA anchors over the chain head, and sealed exports for auditors."""

from __future__ import annotations

import time

from edoc.audit import AuditAnchorer, anchor_audit, check_signed_export, signed_export
from edoc.cli import main
from tests.tools import require, run, write_pem


def _issue(home, n: int = 2) -> None:
    data = home.templates().get("certificate").examples["en"]
    for _ in range(n):
        home.issuer().issue("certificate", data, lang="en")


def test_anchor_is_a_tsa_token_over_the_head_that_openssl_accepts(home, tmp_path):
    _issue(home)
    audit = home.registry().audit
    anchor = anchor_audit(audit, home.timestamper())
    assert anchor is not None and (anchor.seq, anchor.head_hash) == audit.head()
    assert anchor_audit(audit, home.timestamper()) is None  # nothing new to anchor
    require("openssl")
    token = tmp_path / "anchor.tst"
    token.write_bytes(anchor.token)
    roots = write_pem(tmp_path / "roots.pem", list(home.pki.trust_anchors))
    chain = write_pem(tmp_path / "chain.pem", list(home.pki.tsa.chain))
    out = run(
        "openssl", "ts", "-verify", "-token_in", "-in", token, "-digest", anchor.head_hash,
        "-CAfile", roots, "-untrusted", chain,
    ).stdout
    assert b"Verification: OK" in out


def test_background_anchorer_anchors_new_entries(home):
    _issue(home, 1)
    anchorer = AuditAnchorer(home.registry().audit, home.timestamper(), interval=0.1).start()
    try:
        deadline = time.monotonic() + 20
        while not home.registry().audit.anchors() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        anchorer.stop()
    assert home.registry().audit.anchors()[-1].seq == home.registry().audit.head()[0]


def test_signed_export_verifies_and_detects_edits(home):
    _issue(home)
    data, signature = signed_export(
        home.registry().audit, signer=home.seal_signer, timestamper=home.timestamper()
    )
    check = check_signed_export(data, signature, policy=home.trust_policy())
    assert check.ok and check.signed_at is not None and "Electronic Seal" in check.signer
    edited = data.replace(b"document.issued", b"document.voided", 1)
    bad = check_signed_export(edited, signature, policy=home.trust_policy())
    assert not bad.signature_valid and not bad.chain.ok and not bad.ok
    garbage = check_signed_export(data, b"\x30\x00not cms", policy=home.trust_policy())
    assert not garbage.signature_valid and garbage.chain.ok


def test_cli_export_is_sealed_and_openssl_cms_accepts_it(home, tmp_path, capsys):
    _issue(home)
    out = tmp_path / "audit.jsonl"
    assert main(["--home", str(home.path), "audit", "export", "--out", str(out)]) == 0
    assert main(["--home", str(home.path), "audit", "check-export", str(out)]) == 0
    assert "chain intact" in capsys.readouterr().out
    require("openssl")
    roots = write_pem(tmp_path / "roots.pem", list(home.pki.trust_anchors))
    chain = write_pem(tmp_path / "chain.pem", list(home.pki.seal.chain))
    proc = run(
        "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", f"{out}.p7s",
        "-content", out, "-CAfile", roots, "-certfile", chain, "-purpose", "any", "-out", "/dev/null",
    )
    assert b"Verification successful" in proc.stderr
    lines = out.read_bytes().splitlines()
    lines[1] = lines[1].replace(b'"actor":"system"', b'"actor":"mallory"')
    lines[1] = lines[1].replace(b'"template":"certificate"', b'"template":"diploma"')
    out.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["--home", str(home.path), "audit", "check-export", str(out)]) == 1


def test_cli_anchor(home, capsys):
    _issue(home, 1)
    assert main(["--home", str(home.path), "audit", "anchor"]) == 0
    assert "anchored entry" in capsys.readouterr().out
    assert main(["--home", str(home.path), "audit", "anchor"]) == 0
    assert "nothing to anchor" in capsys.readouterr().out
