"""Faster X.509 name comparison for asn1crypto (installed by ``edoc.compat.install()``).

Validating one of our seals compares and hashes certificate names many times:
chain building, OCSP responses matched to their issuer, certificates registered
in stores. asn1crypto compares names as RFC 5280 asks, after RFC 4518 string
preparation of every attribute value, in pure Python, once per parsed object:
and each verification parses the same few CA, seal and TSA names afresh from
the file. That was ~40% of a verification's CPU. Shortcuts, same answers:

- names whose DER encodings are identical are equal without preparing anything
  (RFC 5280 7.1: identical encodings always match);
- otherwise two names are equal when their ``hashable`` forms are: asn1crypto's
  canonical string of the prepared values, the same test its ``__eq__`` makes
  attribute by attribute, now computed once per encoding and remembered;
- the string preparation, a pure function of the string, remembers its last
  few thousand results.

A string the preparation refuses still raises, every time (errors are not
remembered).

Patch: replaces ``asn1crypto.x509.Name.__eq__``, ``Name.hashable`` and the private
``NameTypeAndValue._ldap_string_prep``; never on import. Why: ~40% of a
verification's CPU. Upstream: none filed yet. Tested with asn1crypto 1.5.
"""

from __future__ import annotations

from functools import lru_cache

from asn1crypto import x509

_original_eq = x509.Name.__eq__
_original_hashable = x509.Name.hashable
_original_prep = x509.NameTypeAndValue._ldap_string_prep


@lru_cache(maxsize=4096)
def _prepared(string: str) -> str:
    return _original_prep(None, string)


def _ldap_string_prep(self, string):
    return _prepared(string)


_HASHABLES: dict[bytes, str] = {}
_HASHABLES_MAX = 4096


def _name_hashable(self) -> str:
    # keyed by the RDN sequence's content octets: the same however the Name is tagged
    key = self.chosen.contents
    value = _HASHABLES.get(key)
    if value is None:
        value = _original_hashable.fget(self)
        if len(_HASHABLES) >= _HASHABLES_MAX:
            _HASHABLES.clear()
        _HASHABLES[key] = value
    return value


def _name_eq(self, other):
    if not isinstance(other, x509.Name):
        return False
    if self.chosen.contents == other.chosen.contents:
        return True
    return _name_hashable(self) == _name_hashable(other)


#: distribution whose internals this module changes, and the versions it was tested with
TESTED = ("asn1crypto", "1.5")


def install() -> None:
    """Put the shortcuts into asn1crypto (idempotent)."""
    x509.Name.__eq__ = _name_eq  # type: ignore[method-assign]
    x509.Name.hashable = property(_name_hashable)  # type: ignore[method-assign,assignment]
    x509.NameTypeAndValue._ldap_string_prep = _ldap_string_prep  # type: ignore[method-assign]


def uninstall() -> None:
    """asn1crypto's own comparison again (idempotent)."""
    x509.Name.__eq__ = _original_eq  # type: ignore[method-assign]
    x509.Name.hashable = _original_hashable  # type: ignore[method-assign]
    x509.NameTypeAndValue._ldap_string_prep = _original_prep  # type: ignore[method-assign]


def installed() -> bool:
    """Whether asn1crypto compares names with the shortcuts above."""
    return (
        x509.Name.__eq__ is _name_eq
        and x509.NameTypeAndValue._ldap_string_prep is _ldap_string_prep
        and getattr(x509.Name.hashable, "fget", None) is _name_hashable
    )
