"""The shortcuts of :class:`signing.keys.InMemorySigner` that override pyHanko's private methods.

pyHanko's ``SimpleSigner`` rebuilds, for every signature, values that never
change for one key: the SignerIdentifier and digest AlgorithmIdentifier of the
SignerInfo, the ESSCertIDv2 signed attribute and the SignedData's certificate
set, each as a fresh tree of asn1crypto objects encoded again; and it asks its
attribute providers as concurrent tasks (``asyncio.as_completed``), which only
pays off when several wait on the network (ours wait on the one timestamp; a
task per attribute cost ~0.35 ms per seal). The overrides below build the same
DER from values encoded once (``frozen``), asking providers one after another:
a SET OF is sorted when encoded, whatever order its members came in.

Patch: puts ``signer_info``, ``_package_signature``, ``_signed_attr_providers``,
``signed_attrs`` and ``unsigned_attrs`` on ``InMemorySigner`` (our subclass of
``pyhanko.sign.signers.SimpleSigner``); they override or call pyHanko's
private ``_package_signature``, ``_signed_attr_providers`` and
``_unsigned_attr_providers``. Installed by ``edoc.compat.install()``, never on
import; without them InMemorySigner signs pyHanko's way (same bytes). Why:
together with the parsed key they were most of a seal's CPU beyond hashing.
Upstream: none filed. Tested with pyHanko 0.38.
"""

from __future__ import annotations

from asn1crypto import cms
from pyhanko.sign import attributes
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from .keys import InMemorySigner, frozen

#: distribution whose internals this module relies on, and the versions it was tested with
TESTED = ("pyhanko", "0.38")
#: pyHanko's private methods the overrides replace or call
PRIVATE = ("_package_signature", "_signed_attr_providers", "_unsigned_attr_providers", "signer_info")


def _signed_attr_providers(self, *args, **kwargs):
    # the signing-certificate-v2 attribute (ESSCertIDv2) is the same for every
    # signature of this key: built and encoded once instead of per signature
    for provider in SimpleSigner._signed_attr_providers(self, *args, **kwargs):
        if (
            type(provider) is attributes.SigningCertificateV2Provider
            and provider.signing_cert is self.signing_cert
        ):
            yield self._signing_certificate_v2
        else:
            yield provider


def signer_info(self, digest_algorithm: str, signed_attrs, signature: bytes) -> cms.SignerInfo:
    if digest_algorithm == "shake256":  # pyHanko's special case for Ed448
        return SimpleSigner.signer_info(self, digest_algorithm, signed_attrs, signature)
    # pyHanko's SignerInfo, with the signer's id and digest algorithm encoded once
    return cms.SignerInfo(
        {
            "version": "v1",
            "sid": self._sid,
            "digest_algorithm": self._digest_id(digest_algorithm),
            "signature_algorithm": self.get_signature_mechanism_for_digest(digest_algorithm),
            "signed_attrs": signed_attrs,
            "signature": signature,
        }
    )


def _package_signature(
    self, *, digest_algorithm, cms_version, signed_attrs, signature, unsigned_attrs, encap_content_info
):
    """pyHanko's SignedData, with its certificate set encoded once for this signer.

    The set is pyHanko's own choice (the registry's certificates, without
    self-signed ones unless ``embed_roots``, and the signing certificate); it
    does not change between signatures, so pyHanko's building a choice per
    certificate and encoding the set again is skipped.
    """
    if self.attribute_certs:
        return SimpleSigner._package_signature(
            self, digest_algorithm=digest_algorithm, cms_version=cms_version, signed_attrs=signed_attrs,
            signature=signature, unsigned_attrs=unsigned_attrs, encap_content_info=encap_content_info,
        )
    sig_info = self.signer_info(digest_algorithm, signed_attrs, signature)
    if unsigned_attrs is not None:
        sig_info["unsigned_attrs"] = unsigned_attrs
    signed_data = {
        "version": cms_version,
        "digest_algorithms": cms.DigestAlgorithms((sig_info["digest_algorithm"],)),
        "encap_content_info": encap_content_info or {"content_type": "data"},
        "certificates": self._certificate_set,
        "signer_infos": [sig_info],
    }
    return cms.ContentInfo({"content_type": cms.ContentType("signed_data"), "content": cms.SignedData(signed_data)})


async def signed_attrs(
    self,
    data_digest: bytes,
    digest_algorithm: str,
    attr_settings=None,
    content_type="data",
    use_pades=False,
    timestamper=None,
    dry_run=False,
    is_pdf_sig=True,
) -> cms.CMSAttributes:
    providers = self._signed_attr_providers(
        data_digest=data_digest,
        digest_algorithm=digest_algorithm,
        use_cades=use_pades,
        attr_settings=attr_settings or PdfCMSSignedAttributes(),
        timestamper=timestamper,
        is_pdf_sig=is_pdf_sig,
    )
    given = [
        simple_cms_attribute("content_type", content_type),
        simple_cms_attribute("message_digest", data_digest),
    ]
    return frozen(await _attributes_in_turn(providers, given, dry_run))


async def unsigned_attrs(
    self, digest_algorithm: str, signature: bytes, signed_attrs, timestamper=None, dry_run=False
) -> cms.CMSAttributes | None:
    providers = self._unsigned_attr_providers(
        signature=signature,
        signed_attrs=signed_attrs,
        digest_algorithm=digest_algorithm,
        timestamper=timestamper,
    )
    attrs = await _attributes_in_turn(providers, [], dry_run)
    return frozen(attrs) if attrs else None


async def _attributes_in_turn(providers, given: list, dry_run: bool) -> cms.CMSAttributes:
    """pyHanko's ``format_attributes``, asking the providers one after another."""
    values: dict[str, list] = {}
    for attr in given:
        values.setdefault(attr["type"].dotted, []).extend(attr["values"])
    for provider in providers:
        attr = await provider.get_attribute(dry_run=dry_run)
        if attr is not None:
            values.setdefault(attr["type"].dotted, []).extend(attr["values"])
    return cms.CMSAttributes(
        [cms.CMSAttribute({"type": cms.CMSAttributeType(k), "values": v}) for k, v in values.items()]
    )


OVERRIDES = {
    "_signed_attr_providers": _signed_attr_providers,
    "signer_info": signer_info,
    "_package_signature": _package_signature,
    "signed_attrs": signed_attrs,
    "unsigned_attrs": unsigned_attrs,
}


def install() -> None:
    """Put the overrides on InMemorySigner (idempotent); refuses if pyHanko lost a method they need."""
    missing = [name for name in PRIVATE if not callable(getattr(SimpleSigner, name, None))]
    if missing:
        raise RuntimeError(f"pyHanko's SimpleSigner has no {', '.join(missing)} any more")
    for name, function in OVERRIDES.items():
        setattr(InMemorySigner, name, function)


def uninstall() -> None:
    """InMemorySigner without the overrides: pyHanko's own methods (idempotent)."""
    for name in OVERRIDES:
        if name in vars(InMemorySigner):
            delattr(InMemorySigner, name)


def installed() -> bool:
    """Whether InMemorySigner has the overrides."""
    return all(vars(InMemorySigner).get(name) is f for name, f in OVERRIDES.items())
