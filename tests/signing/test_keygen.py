"""keygen's settings and what it makes: checked in the core, verified with cryptography."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qsjwt.base.errors import InputError
from qsjwt.signing.keygen import make_key_pair, parse_keygen
from tests.conftest import NOW


def test_defaults() -> None:
    settings = parse_keygen({}, now=NOW)
    assert (settings.key_type, settings.bits, settings.days, settings.common_name) == (
        "rsa",
        3072,
        365,
        "qs-jwt",
    )


@pytest.mark.parametrize(
    ("values", "input_name"),
    [
        ({"key-type": "dsa"}, "key-type"),
        ({"bits": "1024"}, "bits"),
        ({"days": "0"}, "days"),
        ({"days": "soon"}, "days"),
        ({"days": "99999999"}, "days"),
        ({"common-name": ""}, "common-name"),
        ({"common-name": "x" * 65}, "common-name"),
        ({"common-name": "a\nb"}, "common-name"),
    ],
)
def test_each_bad_value_names_its_input_and_is_not_repeated(
    values: dict[str, str], input_name: str
) -> None:
    with pytest.raises(InputError) as info:
        parse_keygen(values, now=NOW)
    assert info.value.input_name == input_name
    for value in values.values():
        assert len(value) < 3 or value not in info.value.render()


@pytest.mark.parametrize(
    ("key_type", "kind"), [("rsa", rsa.RSAPrivateKey), ("ec", ec.EllipticCurvePrivateKey)]
)
def test_the_certificate_is_the_key_s(key_type: str, kind: type) -> None:
    settings = parse_keygen({"key-type": key_type, "bits": "2048", "days": "10"}, now=NOW)
    made = make_key_pair(settings, now=NOW)
    key = serialization.load_pem_private_key(made.private, None)
    certificate = x509.load_pem_x509_certificate(made.certificate)
    public = serialization.load_pem_public_key(made.public)
    assert isinstance(key, kind)
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert certificate.public_key().public_bytes(*der) == key.public_key().public_bytes(*der)
    assert public.public_bytes(*der) == key.public_key().public_bytes(*der)
    assert (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days == 10
    assert b"PRIVATE KEY" not in made.certificate + made.public
