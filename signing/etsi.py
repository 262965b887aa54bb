"""The verification report as an ETSI TS 119 102-2 validation report (XML).

Written with the standard library's ElementTree: one ``SignatureValidationReport``
per signature or document timestamp, with its indication and sub-indication as
the URIs the specification defines, the validation time, the best signature
time, the signer's certificate (by digest) and the signing time the signer
claims. Elements the report has no value for are left out, as the schema
allows for optional ones.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from .report import SignatureReport, VerificationReport

NS = "http://uri.etsi.org/19102/v1.2.1#"
DS = "http://www.w3.org/2000/09/xmldsig#"
_MAIN = "urn:etsi:019102:mainindication:"
_SUB = "urn:etsi:019102:subindication:"
_MAIN_NAMES = {
    "TOTAL_PASSED": "total-passed",
    "TOTAL_FAILED": "total-failed",
    "INDETERMINATE": "indeterminate",
}
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

ET.register_namespace("", NS)
ET.register_namespace("ds", DS)


def _el(parent, name: str, text: str | None = None, ns: str = NS):
    node = ET.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        node.text = text
    return node


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etsi_report(report: VerificationReport) -> bytes:
    """The report as TS 119 102-2 XML (UTF-8, with declaration)."""
    root = ET.Element(f"{{{NS}}}ValidationReport")
    for index, sig in enumerate(report.signatures):
        _signature(root, report, sig, index)
    if not report.signatures:
        # nothing to report per signature: say so the way the schema can
        node = _el(root, "SignatureValidationReport")
        status = _el(node, "SignatureValidationStatus")
        _el(status, "MainIndication", _MAIN + "total-failed")
        _el(status, "SubIndication", _SUB + "FORMAT_FAILURE")
        for reason in report.reasons:
            data = _el(status, "AssociatedValidationReportData")
            _el(data, "AdditionalValidationReportData").append(_text_other(reason))
    signer = _el(root, "SignatureValidator")
    _el(signer, "Other", "edoc")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _signature(root, report: VerificationReport, sig: SignatureReport, index: int) -> None:
    node = _el(root, "SignatureValidationReport")
    ident = _el(node, "SignatureIdentifier", None)
    ident.set("id", f"sig-{index + 1}-{sig.field_name}")
    digest = _el(ident, "DigestAlgAndValue")
    _el(digest, "DigestMethod", ns=DS).set("Algorithm", _SHA256)
    _el(digest, "DigestValue", base64.b64encode(bytes.fromhex(report.sha256)).decode(), ns=DS)
    _el(ident, "HashOnly", "false")
    _el(ident, "DocHashOnly", "false")
    _el(ident, "DAIdentifier", sig.field_name)

    if report.validated_at is not None:
        vti = _el(node, "ValidationTimeInfo")
        _el(vti, "ValidationTime", _time(report.validated_at))
        best = sig.best_signature_time or (sig.timestamp.time if sig.timestamp else None)
        if best is not None:
            bst = _el(vti, "BestSignatureTime")
            _el(bst, "POETime", _time(best))
            _el(bst, "TypeOfProof", "urn:etsi:019102:poetype:validation")

    if sig.signing_time is not None:
        attrs = _el(node, "SignatureAttributes")
        st = _el(attrs, "SigningTime")
        _el(st, "Time", _time(sig.signing_time))

    if sig.signer or sig.signer_certificate_sha256:
        info = _el(node, "SignerInformation")
        if sig.signer_certificate_sha256:
            ref = _el(info, "SignerCertificate")
            _el(ref, "VOReference").set("VOReference", f"cert-sha256-{sig.signer_certificate_sha256}")
        if sig.signer:
            _el(info, "Signer", sig.signer)

    status = _el(node, "SignatureValidationStatus")
    main = sig.indication or "INDETERMINATE"
    _el(status, "MainIndication", _MAIN + _MAIN_NAMES.get(main, "indeterminate"))
    if sig.sub_indication:
        _el(status, "SubIndication", _SUB + sig.sub_indication)
    for problem in sig.problems:
        data = _el(status, "AssociatedValidationReportData")
        _el(data, "AdditionalValidationReportData").append(_text_other(problem))


def _text_other(text: str):
    node = ET.Element(f"{{{NS}}}ReportData")
    _el(node, "Type", "urn:edoc:reason")
    _el(node, "Value", text)
    return node
