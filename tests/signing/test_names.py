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


def test_a_name_inside_a_tagged_field_equals_the_plain_name():
    plain = _name(common_name="Example Agency Time-Stamping Authority", country_name="TH")
    general = x509.GeneralName({"directory_name": plain})
    tagged = x509.GeneralName.load(general.dump()).chosen  # [4] EXPLICIT Name, as in ESSCertIDv2
    assert tagged.dump() != plain.dump()
    assert tagged == plain and plain == tagged
    assert tagged.hashable == plain.hashable
    other = _name(common_name="Example Agency Seal", country_name="TH")
    assert tagged != other and other.hashable != tagged.hashable


def test_names_differing_only_in_string_type_and_case_share_a_hashable():
    printable = _name(common_name="Example CA", country_name="TH")
    utf8 = x509.Name.build({"common_name": "EXAMPLE ca", "country_name": "TH"}, use_printable=False)
    _names.uninstall()
    expected = printable.hashable
    _names.install()
    assert printable.hashable == utf8.hashable == expected
