"""The built-in RFC 3161 time-stamp authority.

:class:`TimeStampAuthority` turns a DER ``TimeStampReq`` into a DER
``TimeStampResp``. Bad requests are answered, not raised: a response with
PKIStatus ``rejection`` and the matching failure bit, as RFC 3161 §2.4.2 asks.

>>> tsa = TimeStampAuthority(signer=pyhanko_signer, serials=SerialCounter(path))  # doctest: +SKIP
>>> der_response = tsa.respond(der_request)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, core, tsp, x509
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers import Signer

from ._aio import run_sync
from .keys import digest_algorithm_id, frozen, signer_identifier
from .serials import SerialCounter

log = logging.getLogger(__name__)

#: digest sizes of the imprint algorithms we accept
IMPRINT_ALGORITHMS = {"sha256": 32, "sha384": 48, "sha512": 64}


@dataclass(frozen=True)
class TsaSettings:
    """Policy of the built-in TSA."""

    policy_oid: str = "1.3.6.1.4.1.59999.1.1"
    """TSA policy OID written into every token (set your agency's own arc)."""
    accuracy_seconds: int = 1
    """Accuracy claimed in the token (RFC 3161 ``accuracy``)."""
    digest_algorithm: str = "sha256"
    """Digest the TSA's own signature uses."""


class TimeStampRefused(Exception):
    """The TSA would not issue a token (a rejection, had it been a request)."""


def _check_imprint(algorithm: str, digest: bytes) -> None:
    """Refuse an imprint algorithm we do not accept, or a digest not of its size."""
    if algorithm not in IMPRINT_ALGORITHMS:
        raise _Rejected(
            "bad_alg",
            f"unsupported imprint algorithm {algorithm}; use one of " + ", ".join(IMPRINT_ALGORITHMS),
        )
    if len(digest) != IMPRINT_ALGORITHMS[algorithm]:
        raise _Rejected("bad_data_format", f"the imprint is not a {algorithm} digest")


class _Rejected(Exception):
    def __init__(self, failure: str, text: str):
        super().__init__(text)
        self.failure = failure
        self.text = text


class TimeStampAuthority:
    """An RFC 3161 TSA whose key is any pyHanko :class:`Signer` (file or PKCS#11)."""

    def __init__(
        self,
        *,
        signer: Signer,
        serials: SerialCounter,
        settings: TsaSettings = TsaSettings(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        if signer.signing_cert is None:
            raise ValueError("the TSA signer needs its certificate")
        self._signer = signer
        self._serials = serials
        self._settings = settings
        self._clock = clock
        self._cert: x509.Certificate = signer.signing_cert
        self._policy = tsp.ObjectIdentifier(settings.policy_oid)
        self._imprint_ids = {name: frozen(digest_algorithm_id(name)) for name in IMPRINT_ALGORITHMS}
        self._parts = self._prepare()

    @property
    def certificate(self) -> x509.Certificate:
        """The TSA certificate."""
        return self._cert

    def respond(self, request_der: bytes) -> bytes:
        """Answer one DER TimeStampReq with a DER TimeStampResp (synchronous)."""
        return run_sync(self.async_respond(request_der))

    async def async_respond(self, request_der: bytes) -> bytes:
        """Answer one DER TimeStampReq with a DER TimeStampResp."""
        return (await self.async_respond_request(request_der)).dump()

    async def async_respond_request(self, request: bytes | tsp.TimeStampReq) -> TimeStampResp:
        """Answer a TimeStampReq (DER or parsed) with a TimeStampResp."""
        try:
            req = self._parse(request)
            nonce = req["nonce"] if req["nonce"].native is not None else None
            token = await self._issue(
                req["message_imprint"], nonce, with_certs=bool(req["cert_req"].native)
            )
        except _Rejected as rej:
            log.info("time-stamp request rejected: %s", rej.text)
            return _failure(rej.failure, rej.text)
        return TimeStampResp(
            {"status": tsp.PKIStatusInfo({"status": "granted"}), "time_stamp_token": token}
        )

    async def async_token(self, digest: bytes, algorithm: str = "sha256") -> cms.ContentInfo:
        """A token over ``digest`` for a caller in this process, with the TSA's certificates.

        What a TimeStampReq would get, without one: no request to encode and
        parse again, no response around the token, and no nonce (it guards
        against replay on a network; here there is none). Raises
        :class:`TimeStampRefused` where a request would get a rejection.
        """
        try:
            imprint = self._imprint(algorithm, digest)
            return await self._issue(imprint, None, with_certs=True)
        except _Rejected as rej:
            raise TimeStampRefused(rej.text) from None

    def _imprint(self, algorithm: str, digest: bytes) -> tsp.MessageImprint:
        _check_imprint(algorithm, digest)
        return tsp.MessageImprint({"hash_algorithm": self._imprint_ids[algorithm], "hashed_message": digest})

    def _parse(self, request: bytes | tsp.TimeStampReq) -> tsp.TimeStampReq:
        try:
            req = request if isinstance(request, tsp.TimeStampReq) else tsp.TimeStampReq.load(request)
            # force a full parse now, so garbage fails here and not while signing
            req.native  # noqa: B018
            if isinstance(request, bytes) and req.dump() != request:
                raise ValueError("trailing or non-DER data")
        except Exception as exc:  # asn1crypto raises many types for garbage
            raise _Rejected("bad_data_format", f"not a DER TimeStampReq: {exc}") from exc
        if req["version"].native != "v1":
            raise _Rejected("bad_request", "only version 1 requests are supported")
        imprint = req["message_imprint"]
        _check_imprint(imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native)
        policy = req["req_policy"].native
        if policy is not None and policy != self._settings.policy_oid:
            raise _Rejected("unaccepted_policy", f"this TSA only issues under {self._settings.policy_oid}")
        if req["extensions"].native:
            raise _Rejected("unaccepted_extensions", "this TSA supports no request extensions")
        return req

    async def _issue(
        self, imprint: tsp.MessageImprint, nonce: core.Integer | None, *, with_certs: bool
    ) -> cms.ContentInfo:
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        if not (self._cert.not_valid_before <= now <= self._cert.not_valid_after):
            raise _Rejected("time_not_available", "the TSA certificate is not valid at this time")
        # the TSTInfo every token shares, with what differs put in (half the work
        # of building one from scratch; the same DER)
        info = tsp.TSTInfo.load(self._parts.tst_info)
        info["message_imprint"] = imprint
        info["serial_number"] = self._serials.next()
        info["gen_time"] = now
        if nonce is not None:
            info["nonce"] = nonce
        return await self._token(info.dump(), now, with_certs=with_certs)

    async def _token(self, tst_der: bytes, now: datetime, *, with_certs: bool) -> cms.ContentInfo:
        """The SignedData around a TSTInfo, built with asn1crypto; the key signs through pyHanko.

        Only the message digest, the signing time and the signature change from
        token to token; everything else was built once in :meth:`_prepare`.
        pyHanko's general-purpose CMS path (``async_sign_general_data``) costs
        1.3 ms of CPU per token, two tokens per seal; this one, a third of that.
        """
        parts = self._parts
        digest = hashlib.new(self._settings.digest_algorithm, tst_der).digest()
        # Built values stay "mutated" in asn1crypto and are encoded again by every
        # dump() of whatever holds them; re-loaded (frozen) ones are encoded once.
        # The attributes every token shares (content type, ESSCertIDv2 as RFC 5816
        # requires), with this token's signing time and digest put in. Both are
        # fixed-size, so the attributes keep their places in the sorted SET OF.
        attrs = cms.CMSAttributes.load(parts.signed_attrs)
        attrs[parts.signing_time_at]["values"] = [cms.Time({"utc_time": now})]
        attrs[parts.message_digest_at]["values"] = [digest]
        signed_attrs = frozen(attrs)
        # RFC 5652 5.4: the signature covers the DER of the attributes as a SET OF
        signature = await self._signer.async_sign_raw(signed_attrs.dump(), self._settings.digest_algorithm)
        signer_info = frozen(
            cms.SignerInfo(
                {
                    "version": "v1",
                    "sid": parts.sid,
                    "digest_algorithm": parts.digest_algorithm,
                    "signed_attrs": signed_attrs,
                    "signature_algorithm": parts.signature_algorithm,
                    "signature": signature,
                }
            )
        )
        signed = {
            "version": "v3",
            "digest_algorithms": [parts.digest_algorithm],
            "encap_content_info": {"content_type": "tst_info", "content": cms.ParsableOctetString(tst_der)},
            "signer_infos": [signer_info],
        }
        if with_certs:
            # RFC 3161 2.4.1: with certReq, the TSA's certificate (and here its chain
            # without the root, which verifiers must hold already); without, none
            signed["certificates"] = parts.certificates
        token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed)})
        # re-loaded from its DER (same bytes): embedding it in a seal then copies bytes
        # instead of deep-copying and re-encoding the whole token
        return cms.ContentInfo.load(token.dump())

    def _prepare(self) -> _TokenParts:
        signer, cert = self._signer, self._cert
        digest_algorithm = self._settings.digest_algorithm
        chain = [c for c in signer.cert_registry if c.self_signed == "no" and c.dump() != cert.dump()]
        placeholder_time = cert.not_valid_before.replace(microsecond=0)
        tst_info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": self._policy,
                "message_imprint": self._imprint("sha256", bytes(32)),
                "serial_number": 1,
                "gen_time": placeholder_time,
                "accuracy": {"seconds": self._settings.accuracy_seconds},
                "ordering": False,
                "tsa": x509.GeneralName(name="directory_name", value=cert.subject),
            }
        )
        signed_attrs = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": placeholder_time})]}),
                cms.CMSAttribute(
                    {"type": "message_digest", "values": [bytes(hashlib.new(digest_algorithm).digest_size)]}
                ),
                cms.CMSAttribute(
                    {"type": "signing_certificate_v2", "values": [as_signing_certificate_v2(cert, digest_algorithm)]}
                ),
            ]
        )
        order = [attr["type"].native for attr in frozen(signed_attrs)]  # as sorted in the DER
        return _TokenParts(
            tst_info=tst_info.dump(),
            signed_attrs=signed_attrs.dump(),
            signing_time_at=order.index("signing_time"),
            message_digest_at=order.index("message_digest"),
            sid=signer_identifier(cert),
            digest_algorithm=frozen(digest_algorithm_id(digest_algorithm)),
            signature_algorithm=frozen(signer.get_signature_mechanism_for_digest(digest_algorithm)),
            certificates=frozen(
                cms.CertificateSet([cms.CertificateChoices(name="certificate", value=c) for c in [cert, *chain]])
            ),
        )


@dataclass(frozen=True)
class _TokenParts:
    """The parts of every token that do not change (encoded once)."""

    tst_info: bytes
    """DER of a TSTInfo with everything but the imprint, serial, time and nonce."""
    signed_attrs: bytes
    """DER of the signed attributes, with a placeholder signing time and digest."""
    signing_time_at: int
    message_digest_at: int
    sid: cms.SignerIdentifier
    digest_algorithm: algos.DigestAlgorithm
    signature_algorithm: algos.SignedDigestAlgorithm
    certificates: cms.CertificateSet


class TimeStampResp(tsp.TimeStampResp):
    """RFC 3161 TimeStampResp; unlike asn1crypto's, the token is OPTIONAL as the RFC says."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _failure(bit: str, text: str) -> TimeStampResp:
    return TimeStampResp(
        {
            "status": tsp.PKIStatusInfo(
                {
                    "status": "rejection",
                    "status_string": [text],
                    "fail_info": tsp.PKIFailureInfo({bit}),
                }
            )
        }
    )
