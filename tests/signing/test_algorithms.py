"""The algorithm allow-list per target (rule 1) and which key each algorithm needs."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from qsjwt.base.errors import InputError, KeyMaterialError
from qsjwt.base.inputs import Target
from qsjwt.signing.algorithms import (
    ALLOWED,
    ECDSA,
    JWS_NAMES,
    RSA_PKCS1,
    RSA_PSS,
    check_algorithm,
    check_key_fits,
)
from tests.conftest import KeyPair
from tests.helpers import BOTH_TARGETS, assert_error


@pytest.fixture(scope="module")
def p384_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def p521_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP521R1())


def test_allow_lists() -> None:
    assert ALLOWED[Target.QSEOW] == ("RS256", "RS384", "RS512")
    assert set(ALLOWED[Target.CLOUD]) == set(RSA_PKCS1 + RSA_PSS + ECDSA)
    for algs in ALLOWED.values():
        assert not any(a.startswith("HS") or a.lower() == "none" for a in algs)


@BOTH_TARGETS
@pytest.mark.parametrize("text", ["none", "None", "NONE", " none ", "HS256", "hs384", "Hs512"])
def test_none_and_hmac_refused(target: Target, text: str) -> None:
    with pytest.raises(InputError) as info:
        check_algorithm(text, target, input_name="algorithm")
    assert_error(info.value, "algorithm", "is refused", "unsigned and HMAC", "RS256")


@BOTH_TARGETS
@pytest.mark.parametrize("text", ["", "RS", "RS1024", "EdDSA", "ES256K", "RSA-OAEP", "rs 256"])
def test_unknown_refused(target: Target, text: str) -> None:
    with pytest.raises(InputError) as info:
        check_algorithm(text, target, input_name="algorithm")
    where = "a QSEoW virtual proxy" if target is Target.QSEOW else "Qlik Cloud"
    if text.strip().upper() in JWS_NAMES:
        assert_error(info.value, "algorithm", f"{text.strip()!r} is not accepted by {where}")
    else:  # not a name we know: it may be a secret in the wrong place, so it is not shown
        assert_error(info.value, "algorithm", f"the value given is not accepted by {where}")
        assert len(text.strip()) < 3 or text.strip() not in info.value.render()
    assert info.value.hint == "use one of " + ", ".join(ALLOWED[target])


@pytest.mark.parametrize("text", RSA_PSS + ECDSA)
def test_qseow_refuses_pss_and_ecdsa(text: Any) -> None:
    with pytest.raises(InputError) as info:
        check_algorithm(text, Target.QSEOW, input_name="algorithm")
    assert_error(info.value, "algorithm", "QSEoW", "RS256, RS384, RS512")


@pytest.mark.parametrize("text", ["RS256", "rs384", " RS512\n"])
def test_qseow_accepts_rs_family_silently(text: str) -> None:
    assert check_algorithm(text, Target.QSEOW, input_name="algorithm") == (text.strip().upper(), [])


def test_cloud_rs256_silently() -> None:
    assert check_algorithm("rs256", Target.CLOUD, input_name="algorithm") == ("RS256", [])


@pytest.mark.parametrize("text", ("RS384", "RS512", *RSA_PSS, *ECDSA))
def test_cloud_other_algorithms_warn(text: Any) -> None:
    name, findings = check_algorithm(text.lower(), Target.CLOUD, input_name="alg-input")
    assert name == text
    [finding] = findings
    assert finding.subject == "alg-input"
    assert f"{text} is not what Qlik's tutorials show (RS256)" in finding.message


# --- key fits algorithm ----------------------------------------------------------------------


@pytest.mark.parametrize("alg", RSA_PKCS1 + RSA_PSS)
def test_rsa_key_fits_rs_and_ps(rsa_pair: KeyPair, alg: Any) -> None:
    check_key_fits(rsa_pair.key, alg, input_name="private-key")


@pytest.mark.parametrize("alg", ECDSA)
def test_rsa_key_cannot_sign_es(rsa_pair: KeyPair, alg: Any) -> None:
    with pytest.raises(KeyMaterialError) as info:
        check_key_fits(rsa_pair.key, alg, input_name="private-key")
    assert_error(info.value, "private-key", f"an RSA key cannot sign {alg}")


@pytest.mark.parametrize("alg", RSA_PKCS1 + RSA_PSS)
def test_ec_key_cannot_sign_rs_or_ps(ec_pair: KeyPair, alg: Any) -> None:
    with pytest.raises(KeyMaterialError) as info:
        check_key_fits(ec_pair.key, alg, input_name="private-key")
    assert_error(info.value, "private-key", f"an EC key cannot sign {alg}", "QSEoW takes only")


def test_ec_curves_must_match(ec_pair: KeyPair, p384_key: Any, p521_key: Any) -> None:
    check_key_fits(ec_pair.key, "ES256", input_name="k")
    check_key_fits(p384_key, "ES384", input_name="k")
    check_key_fits(p521_key, "ES512", input_name="k")


@pytest.mark.parametrize(
    ("key_name", "alg", "curve"),
    [
        ("p384_key", "ES256", "secp256r1"),
        ("p521_key", "ES384", "secp384r1"),
        ("ec_pair", "ES512", "secp521r1"),
    ],
)
def test_ec_curve_mismatch(
    request: pytest.FixtureRequest, key_name: str, alg: str, curve: str
) -> None:
    key = request.getfixturevalue(key_name)
    key = getattr(key, "key", key)
    with pytest.raises(KeyMaterialError) as info:
        check_key_fits(key, alg, input_name="private-key")
    assert_error(info.value, "private-key", f"{alg} needs an EC key on curve {curve}, not ")
