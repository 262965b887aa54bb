"""An RFC 6960 OCSP responder as a pure function: DER request in, signed DER answer out.

It knows nothing of where certificate status is kept: ``status_of(serial, time)``
says. Bad requests are answered (``malformedRequest``, ``unauthorized`` for
another CA's certificates), never raised. One certificate per request, which is
what pyHanko, openssl and NSS send.

>>> responder = OcspResponder(issuer_cert=ca, responder_cert=cert, responder_key=key,
...                           status_of=lambda serial, at: CertStatus("good"))  # doctest: +SKIP
>>> der_answer = responder.respond(der_request)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from .keys import PrivateKey
from .profiles import signature_hash


@dataclass(frozen=True)
class CertStatus:
    """One certificate's status as an OCSP answer states it."""

    status: Literal["good", "revoked", "unknown"]
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None
    """None for an unspecified reason (RFC 5280: omit rather than say unspecified)."""


_STATUS = {
    "good": ocsp.OCSPCertStatus.GOOD,
    "revoked": ocsp.OCSPCertStatus.REVOKED,
    "unknown": ocsp.OCSPCertStatus.UNKNOWN,
}


class OcspResponder:
    """Answers OCSP requests about certificates of one CA, signed by ``responder_cert``'s key
    (a delegated responder, or the CA itself)."""

    def __init__(
        self,
        *,
        issuer_cert: x509.Certificate,
        responder_cert: x509.Certificate,
        responder_key: PrivateKey,
        status_of: Callable[[int, datetime], CertStatus],
        validity: timedelta = timedelta(days=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._issuer = issuer_cert
        self._cert = responder_cert
        self._key = responder_key
        self._status_of = status_of
        self._validity = validity
        self._clock = clock

    def respond(self, request_der: bytes) -> bytes:
        """A DER OCSPResponse for a DER OCSPRequest; never raises for bad input."""
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            algorithm = request.hash_algorithm
        except Exception:  # garbage, several requests in one, unknown hash...
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if not self._is_issuer(request, algorithm):
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
        except x509.ExtensionNotFound:
            nonce = None
        return self.answer(
            request.serial_number,
            algorithm=algorithm,
            name_hash=request.issuer_name_hash,
            key_hash=request.issuer_key_hash,
            nonce=nonce,
        )

    def answer(
        self,
        serial: int,
        *,
        algorithm: hashes.HashAlgorithm | None = None,
        name_hash: bytes | None = None,
        key_hash: bytes | None = None,
        nonce: x509.OCSPNonce | None = None,
        at: datetime | None = None,
    ) -> bytes:
        """A signed answer about the certificate with this serial, as of ``at`` (default now)."""
        algorithm = algorithm or hashes.SHA1()  # what RFC 6960 clients expect by default
        name_hash = name_hash or _digest(algorithm, self._issuer.subject.public_bytes())
        key_hash = key_hash or _digest(algorithm, _public_key_bits(self._issuer))
        now = (at or self._clock()).astimezone(UTC).replace(microsecond=0)
        state = self._status_of(serial, now)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=name_hash,
                issuer_key_hash=key_hash,
                serial_number=serial,
                algorithm=algorithm,
                cert_status=_STATUS[state.status],
                this_update=now,
                next_update=now + self._validity,
                revocation_time=state.revoked_at,
                revocation_reason=state.reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self._cert)
            .certificates([self._cert])
        )
        if nonce is not None:
            builder = builder.add_extension(nonce, critical=False)
        response = builder.sign(self._key, signature_hash(self._key))  # type: ignore[arg-type]
        return response.public_bytes(serialization.Encoding.DER)

    def _is_issuer(self, request: ocsp.OCSPRequest, algorithm: hashes.HashAlgorithm) -> bool:
        return request.issuer_name_hash == _digest(
            algorithm, self._issuer.subject.public_bytes()
        ) and request.issuer_key_hash == _digest(algorithm, _public_key_bits(self._issuer))


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


def _public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING contents (what OCSP's issuerKeyHash covers)."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    return parsed.public_key["public_key"].contents[1:]  # drop the unused-bits octet


__all__ = ["CertStatus", "OcspResponder"]
