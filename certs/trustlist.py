"""ETSI TS 119 612 trusted lists: check the list's XML signature, read its services.

A trusted list (XML) names trust service providers and, per service, its type
(``ServiceTypeIdentifier``, e.g. ``.../Svctype/CA/QC``), its certificates
(``ServiceDigitalIdentity``) and its status with history (``ServiceStatus``,
``StatusStartingTime``, ``ServiceHistory``). Only the signed content is read:
the XML signature is checked with signxml against the list operator's
certificate, and the services are taken from the element signxml verified,
never from the raw input (so a wrapped or appended element cannot sneak in).

>>> services = read_trusted_list(xml_bytes, signer=operator_cert, list_name="th")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .truststore import Anchor, Purpose, StatusPeriod, TrustStoreError

NS = {"tsl": "http://uri.etsi.org/02231/v2#"}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_MAX_BYTES = 20 * 1024 * 1024


class TrustedListError(TrustStoreError):
    """A trusted list that cannot be used: unsigned, wrongly signed, malformed or stale."""


@dataclass(frozen=True)
class TrustedList:
    """What an imported list contributes: its services as anchors, and facts about it."""

    territory: str
    sequence: int
    issued: datetime | None
    next_update: datetime | None
    operator: str
    anchors: tuple[Anchor, ...]
    skipped: int
    """Services of a type we do not anchor (OCSP, CRL, ...)."""

    def info(self) -> dict[str, object]:
        """Facts recorded with the import."""
        return {
            "territory": self.territory,
            "sequence": self.sequence,
            "issued": self.issued.isoformat() if self.issued else None,
            "next_update": self.next_update.isoformat() if self.next_update else None,
            "operator": self.operator,
        }


def purpose_of(service_type: str) -> Purpose | None:
    """What a service of this type may anchor: CAs seals, TSAs timestamps; others nothing."""
    if "/Svctype/CA/" in service_type:
        return "seal"
    if "/Svctype/TSA" in service_type:
        return "tsa"
    return None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TrustedListError(f"not an xs:dateTime: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _text(element, path: str) -> str | None:
    found = element.find(path, NS)
    return found.text.strip() if found is not None and found.text else None


def _name(element, path: str) -> str:
    names = element.findall(path, NS)
    for n in names:
        if n.get(_XML_LANG) == "en" and n.text:
            return n.text.strip()
    return (names[0].text or "").strip() if names else ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "service"


def verify_signature(xml: bytes, signer: x509.Certificate):
    """The list's root element as signed by ``signer``; TrustedListError when it is not."""
    from lxml import etree
    from signxml import InvalidInput, InvalidSignature, SignatureConfiguration, XMLVerifier

    if len(xml) > _MAX_BYTES:
        raise TrustedListError(f"the trusted list is larger than {_MAX_BYTES} bytes")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise TrustedListError(f"not well-formed XML: {exc}") from None
    if root.tag != f"{{{NS['tsl']}}}TrustServiceStatusList":
        raise TrustedListError("not an ETSI TS 119 612 trusted list (TrustServiceStatusList)")
    pem = signer.public_bytes(serialization.Encoding.PEM).decode()
    try:
        results = XMLVerifier().verify(
            root, x509_cert=pem, expect_config=SignatureConfiguration(expect_references=True)
        )
    except (InvalidSignature, InvalidInput) as exc:
        raise TrustedListError(f"the trusted list's signature does not check out: {exc}") from None
    except Exception as exc:  # signxml raises lxml/cryptography errors for garbage too
        raise TrustedListError(f"the trusted list's signature cannot be checked: {exc}") from None
    results = results if isinstance(results, list) else [results]
    for result in results:
        signed = result.signed_xml
        if signed is not None and signed.tag == root.tag:
            return signed
    raise TrustedListError("the signature does not cover the whole trusted list")


def read_trusted_list(
    xml: bytes, *, signer: x509.Certificate, list_name: str | None = None,
    now: datetime | None = None,
) -> tuple[str, TrustedList]:
    """Check and read a trusted list: (its name in the store, what it holds)."""
    root = verify_signature(xml, signer)
    scheme = root.find("tsl:SchemeInformation", NS)
    if scheme is None:
        raise TrustedListError("the trusted list has no SchemeInformation")
    territory = _text(scheme, "tsl:SchemeTerritory") or "xx"
    name = list_name or territory.lower()
    next_update = _time(_text(scheme, "tsl:NextUpdate/tsl:dateTime"))
    if next_update is not None and next_update < (now or datetime.now(UTC)):
        raise TrustedListError(
            f"the trusted list expired: its next update was due {next_update:%Y-%m-%d %H:%M} UTC"
        )
    try:
        sequence = int(_text(scheme, "tsl:TSLSequenceNumber") or 0)
    except ValueError:
        raise TrustedListError("TSLSequenceNumber is not a number") from None
    anchors: list[Anchor] = []
    skipped = 0
    taken: set[str] = set()
    for tsp in root.iterfind("tsl:TrustServiceProviderList/tsl:TrustServiceProvider", NS):
        tsp_name = _name(tsp, "tsl:TSPInformation/tsl:TSPName/tsl:Name")
        for service in tsp.iterfind("tsl:TSPServices/tsl:TSPService", NS):
            info = service.find("tsl:ServiceInformation", NS)
            if info is None:
                continue
            service_type = _text(info, "tsl:ServiceTypeIdentifier") or ""
            purpose = purpose_of(service_type)
            if purpose is None:
                skipped += 1
                continue
            history = _history(info, service)
            label = _slug(f"{tsp_name} {_name(info, 'tsl:ServiceName/tsl:Name')}")
            certs = info.findall(
                "tsl:ServiceDigitalIdentity/tsl:DigitalId/tsl:X509Certificate", NS
            )
            for cert_el in certs:
                cert = _certificate(cert_el.text or "")
                anchor_name = f"{name}.{label}"[:60]
                n = 2
                while anchor_name in taken:
                    anchor_name = f"{name}.{label}"[:57] + f"-{n}"
                    n += 1
                taken.add(anchor_name)
                anchors.append(
                    Anchor(
                        name=anchor_name,
                        purpose=purpose,
                        cert=cert,
                        source=f"tl:{name}",
                        service_type=service_type,
                        history=history,
                    )
                )
    return name, TrustedList(
        territory=territory,
        sequence=sequence,
        issued=_time(_text(scheme, "tsl:ListIssueDateTime")),
        next_update=next_update,
        operator=_name(scheme, "tsl:SchemeOperatorName/tsl:Name"),
        anchors=tuple(anchors),
        skipped=skipped,
    )


def _history(info, service) -> tuple[StatusPeriod, ...]:
    periods = []
    status, start = _text(info, "tsl:ServiceStatus"), _time(_text(info, "tsl:StatusStartingTime"))
    if status and start:
        periods.append(StatusPeriod(status, start))
    for past in service.iterfind("tsl:ServiceHistory/tsl:ServiceHistoryInstance", NS):
        status, start = _text(past, "tsl:ServiceStatus"), _time(_text(past, "tsl:StatusStartingTime"))
        if status and start:
            periods.append(StatusPeriod(status, start))
    if not periods:
        raise TrustedListError("a service has no ServiceStatus with StatusStartingTime")
    return tuple(sorted(periods, key=lambda p: p.start, reverse=True))


def _certificate(text: str) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split()), validate=True))
    except ValueError as exc:
        raise TrustedListError(f"a ServiceDigitalIdentity certificate is unreadable: {exc}") from None
