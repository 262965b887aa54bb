"""The built-in RFC 3161 TSA: granted tokens, nonces, serials, and refusals with the right status."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import algos, core, tsp

from signing.serials import SerialCounter
from signing.tsa import TimeStampAuthority, TimeStampResp


def request(
    digest: bytes | None = None,
    algorithm: str = "sha256",
    nonce: int | None = 12345,
    cert_req: bool = True,
    policy: str | None = None,
    version: str = "v1",
    extensions=None,
) -> bytes:
    digest = digest if digest is not None else hashlib.new(algorithm, b"data").digest()
    fields = {
        "version": version,
        "message_imprint": tsp.MessageImprint(
            {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": algorithm}),
                "hashed_message": digest,
            }
        ),
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    if extensions is not None:
        fields["extensions"] = extensions
    return tsp.TimeStampReq(fields).dump()


def answer(tsa: TimeStampAuthority, der: bytes) -> TimeStampResp:
    return TimeStampResp.load(tsa.respond(der))


def tst_info(resp: tsp.TimeStampResp) -> dict:
    return resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed.native


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512"])
def test_granted_token_echoes_imprint_and_nonce(home, algorithm):
    digest = hashlib.new(algorithm, b"doc").digest()
    resp = answer(home.tsa, request(digest, algorithm, nonce=987654321))
    assert resp["status"]["status"].native == "granted"
    info = tst_info(resp)
    assert info["message_imprint"]["hashed_message"] == digest
    assert info["message_imprint"]["hash_algorithm"]["algorithm"] == algorithm
    assert info["nonce"] == 987654321
    assert info["policy"] == home.settings.tsa_policy_oid
    assert info["accuracy"]["seconds"] == 1
    assert abs(info["gen_time"] - datetime.now(UTC)) < timedelta(minutes=1)


def test_token_carries_ess_cert_id_v2(home):
    resp = answer(home.tsa, request())
    signer_info = resp["time_stamp_token"]["content"]["signer_infos"][0]
    attrs = {a["type"].native for a in signer_info["signed_attrs"]}
    assert "signing_certificate_v2" in attrs
    assert "content_type" in attrs and "message_digest" in attrs


def test_certificates_present_only_when_requested(home):
    with_certs = answer(home.tsa, request(cert_req=True))["time_stamp_token"]["content"]
    without = answer(home.tsa, request(cert_req=False))["time_stamp_token"]["content"]
    assert len(with_certs["certificates"]) >= 1
    assert not without["certificates"]


def test_serials_never_repeat_across_restarts(home, tmp_path):
    path = tmp_path / "serial"
    seen: list[int] = []
    for _restart in range(3):
        tsa = TimeStampAuthority(signer=home.tsa._signer, serials=SerialCounter(path, block=4))
        for _ in range(6):
            seen.append(tst_info(answer(tsa, request()))["serial_number"])
    assert len(seen) == len(set(seen)) == 18


def test_serial_counter_is_unique_across_processes(tmp_path):
    import multiprocessing as mp

    path = tmp_path / "serial"
    with mp.get_context("fork").Pool(4) as pool:
        chunks = pool.starmap(_draw, [(str(path), 200)] * 4)
    values = [v for chunk in chunks for v in chunk]
    assert len(values) == len(set(values)) == 800


def _draw(path: str, n: int) -> list[int]:
    from pathlib import Path

    counter = SerialCounter(Path(path), block=16)
    return [counter.next() for _ in range(n)]


def _failure(resp: tsp.TimeStampResp) -> set[str]:
    assert resp["status"]["status"].native == "rejection"
    assert resp["time_stamp_token"].native is None
    return set(resp["status"]["fail_info"].native)


def test_garbage_request_is_bad_data_format(home):
    assert _failure(answer(home.tsa, b"\x30\x03garbage")) == {"bad_data_format"}
    assert _failure(answer(home.tsa, os.urandom(64))) == {"bad_data_format"}
    assert _failure(answer(home.tsa, b"")) == {"bad_data_format"}


def test_trailing_bytes_after_request_are_refused(home):
    assert _failure(answer(home.tsa, request() + b"\x00")) == {"bad_data_format"}


def test_unsupported_hash_is_bad_alg(home):
    resp = answer(home.tsa, request(hashlib.md5(b"x").digest(), "md5"))
    assert _failure(resp) == {"bad_alg"}
    assert "unsupported" in resp["status"]["status_string"][0].native


def test_imprint_of_wrong_length_is_bad_data_format(home):
    assert _failure(answer(home.tsa, request(b"\x01" * 20, "sha256"))) == {"bad_data_format"}


def test_foreign_policy_is_unaccepted(home):
    assert _failure(answer(home.tsa, request(policy="1.2.3.4"))) == {"unaccepted_policy"}


def test_our_policy_is_accepted(home):
    resp = answer(home.tsa, request(policy=home.settings.tsa_policy_oid))
    assert resp["status"]["status"].native == "granted"


def test_request_extensions_are_unaccepted(home):
    ext = [{"extn_id": "1.2.3.4.5", "critical": False, "extn_value": core.OctetString(b"x").dump()}]
    assert _failure(answer(home.tsa, request(extensions=ext))) == {"unaccepted_extensions"}


def test_tsa_with_expired_certificate_refuses(home):
    late = TimeStampAuthority(
        signer=home.tsa._signer,
        serials=SerialCounter(home.path / "s2"),
        clock=lambda: datetime.now(UTC) + timedelta(days=365 * 30),
    )
    assert _failure(answer(late, request())) == {"time_not_available"}


# --- tokens for callers in this process (the sealer's timestamper) ---------------------


def test_in_process_token_is_the_requested_one_without_a_nonce(home):
    from signing._aio import run_sync

    digest = hashlib.sha384(b"doc").digest()
    token = run_sync(home.tsa.async_token(digest, "sha384"))
    info = token["content"]["encap_content_info"]["content"].parsed.native
    assert info["message_imprint"]["hashed_message"] == digest
    assert info["message_imprint"]["hash_algorithm"]["algorithm"] == "sha384"
    assert info["nonce"] is None
    assert info["policy"] == home.settings.tsa_policy_oid
    assert len(token["content"]["certificates"]) >= 1
    # the same signed structure a request gets, but for the nonce, serial and time
    over_request = answer(home.tsa, request(digest, "sha384", nonce=None))["time_stamp_token"]
    signer_info, requested = token["content"]["signer_infos"][0], over_request["content"]["signer_infos"][0]
    assert [a["type"].native for a in signer_info["signed_attrs"]] == [
        a["type"].native for a in requested["signed_attrs"]
    ]
    assert signer_info["sid"].dump() == requested["sid"].dump()


@pytest.mark.parametrize(
    ("digest", "algorithm", "why"),
    [
        (hashlib.md5(b"x").digest(), "md5", "unsupported imprint algorithm md5"),
        (b"\x01" * 20, "sha256", "not a sha256 digest"),
    ],
)
def test_in_process_token_refusals_are_errors(home, digest, algorithm, why):
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    from signing._aio import run_sync
    from signing.timestamps import InProcessTimeStamper
    from signing.tsa import TimeStampRefused

    with pytest.raises(TimeStampRefused, match=why):
        run_sync(home.tsa.async_token(digest, algorithm))
    with pytest.raises(TimestampRequestError, match=why):
        run_sync(InProcessTimeStamper(home.tsa).async_timestamp(digest, algorithm))


def test_in_process_timestamper_refused_by_an_expired_tsa(home):
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    from signing._aio import run_sync
    from signing.timestamps import InProcessTimeStamper

    late = TimeStampAuthority(
        signer=home.tsa._signer,
        serials=SerialCounter(home.path / "s3"),
        clock=lambda: datetime.now(UTC) + timedelta(days=365 * 30),
    )
    with pytest.raises(TimestampRequestError, match="not valid at this time"):
        run_sync(InProcessTimeStamper(late).async_timestamp(hashlib.sha256(b"x").digest(), "sha256"))


def test_in_process_timestamper_still_answers_requests(home):
    from signing._aio import run_sync
    from signing.timestamps import InProcessTimeStamper

    req = tsp.TimeStampReq.load(request(nonce=77))
    resp = run_sync(InProcessTimeStamper(home.tsa).async_request_tsa_response(req))
    assert tst_info(resp)["nonce"] == 77


def test_signed_attributes_carry_this_tokens_digest_and_time(home):
    """Tokens start from shared DER templates: what differs per token must be this token's."""
    tokens = [answer(home.tsa, request(hashlib.sha256(bytes([i])).digest()))["time_stamp_token"] for i in range(3)]
    serials = set()
    for token in tokens:
        signed = token["content"]
        tst_der = signed["encap_content_info"]["content"].parsed.dump()
        info = signed["encap_content_info"]["content"].parsed.native
        attrs = {a["type"].native: a["values"][0].native for a in signed["signer_infos"][0]["signed_attrs"]}
        assert attrs["message_digest"] == hashlib.sha256(tst_der).digest()
        assert attrs["signing_time"] == info["gen_time"]
        assert attrs["content_type"] == "tst_info"
        assert info["tsa"] == home.tsa.certificate.subject.native
        assert info["version"] == "v1" and info["ordering"] is False
        serials.add(info["serial_number"])
    assert len(serials) == 3
