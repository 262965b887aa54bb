"""The name-comparison shortcuts give asn1crypto's own answers."""

from __future__ import annotations

import pytest
from asn1crypto import x509

from signing import _names


def _name(**attrs) -> x509.Name:
    return x509.Name.build(attrs)


@pytest.fixture(autouse=True)
def installed():
    _names.install()
    yield
    _names.install()


def test_identical_encodings_are_equal_and_different_names_are_not():
    a = _name(common_name="กรมตัวอย่าง Seal", organization_name="Example Agency", country_name="TH")
    b = x509.Name.load(a.dump())
    assert a == b and not a != b
    assert a != _name(common_name="กรมตัวอย่าง Seal", organization_name="Other Agency", country_name="TH")


def test_names_equal_only_after_string_preparation_still_match():
    printable = _name(common_name="Example  CA", country_name="TH")  # PrintableString, two spaces
    utf8 = x509.Name.build({"common_name": "example ca", "country_name": "TH"}, use_printable=False)
    assert printable.dump() != utf8.dump()
    _names.uninstall()
    assert printable == utf8  # asn1crypto's own answer
    _names.install()
    assert printable == utf8


@pytest.mark.parametrize("text", ["Example CA", "  spaced\tout  ", "กรมการปกครอง", "Ｆｕｌｌ　width", "soft\u00adhyphen"])
def test_prepared_strings_are_asn1cryptos(text):
    original = _names._original_prep(None, text)
    assert x509.NameTypeAndValue._ldap_string_prep(None, text) == original
    assert x509.NameTypeAndValue._ldap_string_prep(None, text) == original  # remembered, same


def test_a_refused_string_is_refused_every_time():
    for _ in range(2):
        with pytest.raises(ValueError):
            x509.NameTypeAndValue._ldap_string_prep(None, "private \ue000 use")
