"""AWS KMS keyless signing, tested two ways (docs/keyless-signing reference, section 4).

moto's server on 127.0.0.1 is faithful for what it is used for here: keys and aliases,
``GetPublicKey`` (DER SPKI, key usage, signing algorithms) and STS's
``AssumeRoleWithWebIdentity``. It is not for ``Sign``: it ignores ``MessageType`` and hashes a
digest again. So ``Sign`` is checked with botocore's Stubber (the exact parameters: the digest
made here, ``MessageType=DIGEST``, the KMS algorithm of the JWS one) and a full mint goes
through a botocore ``before-call`` hook that signs the digest with a local key, as KMS would.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from moto.server import ThreadedMotoServer

from tests.cli.test_cli import qs_jwt_process
from tests.conftest import verify_independently
from tests.keyless_rigs import free_port

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/qlik-ci"
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvcWxpayJ9.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
QSEOW = ["qseow", "--user-id", "svc_ci", "--user-directory", "CORP"]


class Moto:
    def __init__(self) -> None:
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.port}"
        self.kms = boto3.client(
            "kms",
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.keys: dict[str, str] = {}
        for alias, spec, usage in (
            ("rsa", "RSA_3072", "SIGN_VERIFY"),
            ("ec384", "ECC_NIST_P384", "SIGN_VERIFY"),
            ("aes", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        ):
            key = self.kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
            self.kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key["KeyId"])
            self.keys[alias] = key["Arn"]

    def public_pem(self, alias: str) -> bytes:
        der = self.kms.get_public_key(KeyId=f"alias/{alias}")["PublicKey"]
        return serialization.load_der_public_key(der).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def env(self, reference: str) -> dict[str, str]:
        """A CI job with a web-identity role and the CI's identity token, no AWS keys."""
        return {
            "QSJWT_KEY_SERVICE": reference,
            "QSJWT_ID_TOKEN": ID_TOKEN,
            "AWS_ROLE_ARN": ROLE,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        }


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    server = Moto()
    try:
        yield server
    finally:
        server.server.stop()


@pytest.mark.parametrize("alias", ["rsa", "ec384"])
def test_the_jwk_of_a_kms_key_through_a_web_identity_role(moto: Moto, alias: str) -> None:
    run = qs_jwt_process("jwk", env=moto.env(f"kms:alias/{alias}"))
    assert run.code == 0, run.err
    printed = json.loads(run.out)
    from jwcrypto import jwk

    expected = jwk.JWK.from_pem(moto.public_pem(alias))
    assert {k: printed[k] for k in ("kty", "n", "e", "crv", "x", "y") if k in printed} == {
        k: v for k, v in expected.export_public(as_dict=True).items() if k != "kid"
    }
    assert ID_TOKEN not in run.out + run.err


def test_a_kms_key_by_its_arn_carries_its_region(moto: Moto) -> None:
    env = {**moto.env(f"kms:{moto.keys['rsa']}"), "AWS_REGION": ""}
    run = qs_jwt_process("jwk", env=env)
    assert run.code == 0, run.err


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("kms:alias/nothing-here", "no such key"),
        ("kms:alias/aes", "cannot sign"),
        ("kms:arn:aws:kms:eu-west-1:12:key/x", "is not a KMS key reference"),
        ("kms:alias/bad name", "is not a KMS key reference"),
    ],
)
def test_kms_refusals_name_key_service(moto: Moto, reference: str, says: str) -> None:
    run = qs_jwt_process(*QSEOW, env=moto.env(reference))
    assert run.code == 2, run.err
    assert "QSJWT_KEY_SERVICE" in run.err and says in run.err
    assert reference.removeprefix("kms:") not in run.err


def test_kms_unreachable_is_exit_4(moto: Moto) -> None:
    env = {**moto.env("kms:alias/rsa"), "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}
    run = qs_jwt_process(*QSEOW, env=env)
    assert run.code == 4, run.err
    assert "could not be reached" in run.err and ID_TOKEN not in run.err


def test_kms_without_credentials_or_identity_says_what_to_set(moto: Moto) -> None:
    env = {**moto.env("kms:alias/rsa"), "AWS_ROLE_ARN": "", "QSJWT_ID_TOKEN": ""}
    run = qs_jwt_process(*QSEOW, env=env)
    assert run.code == 2 and "AWS_ROLE_ARN" in run.err, run.err


# --- Sign, where moto is not faithful: botocore's Stubber and a signing hook ---------------------


def _client() -> Any:
    return boto3.client(
        "kms",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _open(monkeypatch: pytest.MonkeyPatch, client: Any) -> Any:
    """The remote key for kms:alias/qlik, with ``client`` as every KMS client boto3 makes."""
    from qsjwt.signing.remote import Secrets
    from qsjwt.signing.remote.registry import remote_key_from

    monkeypatch.setattr(boto3.session.Session, "client", lambda *_a, **_k: client)
    loaded = remote_key_from(
        {"key-service": "kms:alias/qlik"}, Secrets(), ci_env={"AWS_REGION": REGION}
    )
    assert loaded is not None
    return loaded


def _public_answer(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, algs: list[str]
) -> dict[str, Any]:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {"KeyId": "k", "PublicKey": der, "KeyUsage": "SIGN_VERIFY", "SigningAlgorithms": algs}


RSA_ALGS = [
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
]


def test_sign_sends_the_digest_made_here_with_message_type_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9"
    client = _client()
    with Stubber(client) as stub:
        stub.add_response(
            "get_public_key", _public_answer(local, RSA_ALGS), {"KeyId": "alias/qlik"}
        )
        signature = local.sign(data, padding.PKCS1v15(), hashes.SHA384())
        stub.add_response(
            "sign",
            {"KeyId": "k", "Signature": signature, "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_384"},
            {
                "KeyId": "alias/qlik",
                "Message": hashlib.sha384(data).digest(),
                "MessageType": "DIGEST",
                "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_384",
            },
        )
        remote = _open(monkeypatch, client)
        assert remote.key.sign(data, padding.PKCS1v15(), hashes.SHA384()) == signature
        stub.assert_no_pending_responses()


def test_an_ecdsa_signature_comes_back_as_der_from_r_and_s(monkeypatch: pytest.MonkeyPatch) -> None:
    local = ec.generate_private_key(ec.SECP384R1())
    data = b"header.payload"
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("get_public_key", _public_answer(local, ["ECDSA_SHA_384"]))
        stub.add_response(
            "sign",
            {"Signature": local.sign(data, ec.ECDSA(hashes.SHA384()))},
            {
                "KeyId": "alias/qlik",
                "Message": hashlib.sha384(data).digest(),
                "MessageType": "DIGEST",
                "SigningAlgorithm": "ECDSA_SHA_384",
            },
        )
        remote = _open(monkeypatch, client)
        der = remote.key.sign(data, ec.ECDSA(hashes.SHA384()))
        local.public_key().verify(der, data, ec.ECDSA(hashes.SHA384()))


def test_an_algorithm_the_key_does_not_allow_is_refused_before_any_sign(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qsjwt.signing.remote import RemoteKeyError

    local = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = _client()
    with Stubber(client) as stub:  # no Sign answer queued: a call would fail the stub
        stub.add_response("get_public_key", _public_answer(local, ["RSASSA_PSS_SHA_256"]))
        remote = _open(monkeypatch, client)
        with pytest.raises(RemoteKeyError, match="does not allow RSASSA_PKCS1_V1_5_SHA_256"):
            remote.key.sign(b"x", padding.PKCS1v15(), hashes.SHA256())
        stub.assert_no_pending_responses()


def test_an_access_denied_sign_names_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    from qsjwt.signing.remote import RemoteKeyError

    local = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("get_public_key", _public_answer(local, RSA_ALGS))
        stub.add_client_error(
            "sign",
            service_error_code="AccessDeniedException",
            service_message="User: arn:aws:sts::123456789012:assumed-role/x is not authorized",
            http_status_code=400,
        )
        remote = _open(monkeypatch, client)
        with pytest.raises(RemoteKeyError) as refused:
            remote.key.sign(b"x", padding.PKCS1v15(), hashes.SHA256())
    text = str(refused.value)
    assert "kms:Sign" in text and "policy" in text and "123456789012" not in text


class _Body:
    """What botocore reads an answer's body from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.data


def _fake_kms(local: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Any:
    """A ``before-send`` hook answering GetPublicKey and Sign as KMS documents them: Sign
    signs the digest as given (MessageType DIGEST), PSS with a salt as long as the hash, ECDSA
    as DER. Written from the API reference, not a recording."""
    hashes_by_name = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
    seen: list[str] = []

    def send(request: Any, **_kwargs: Any) -> AWSResponse:
        body = json.loads(request.body)
        operation = request.headers["X-Amz-Target"].decode().rpartition(".")[2]
        seen.append(operation)
        if operation == "GetPublicKey":
            algorithms = (
                ["ECDSA_SHA_384"] if isinstance(local, ec.EllipticCurvePrivateKey) else RSA_ALGS
            )
            answer = _public_answer(local, algorithms)
            answer["PublicKey"] = base64.b64encode(answer["PublicKey"]).decode()
        else:
            assert body["MessageType"] == "DIGEST"
            algorithm = body["SigningAlgorithm"]
            chosen = hashes_by_name[algorithm[-3:]]
            digest = base64.b64decode(body["Message"])
            assert len(digest) == chosen.digest_size
            hashed = utils.Prehashed(chosen)
            if isinstance(local, ec.EllipticCurvePrivateKey):
                signature = local.sign(digest, ec.ECDSA(hashed))
            elif "PSS" in algorithm:
                pss = padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size)
                signature = local.sign(digest, pss, hashed)
            else:
                signature = local.sign(digest, padding.PKCS1v15(), hashed)
            answer = {
                "KeyId": "k",
                "Signature": base64.b64encode(signature).decode(),
                "SigningAlgorithm": algorithm,
            }
        return AWSResponse(request.url, 200, {}, _Body(json.dumps(answer).encode()))

    send.seen = seen  # type: ignore[attr-defined]
    return send


@pytest.mark.parametrize(
    ("kind", "target", "algorithm"),
    [("rsa", "qseow", "RS256"), ("rsa", "cloud", "PS512"), ("ec384", "cloud", "ES384")],
)
def test_a_token_signed_through_kms_verifies_with_its_certificate(
    monkeypatch: pytest.MonkeyPatch, kind: str, target: str, algorithm: str
) -> None:
    from qsjwt import Minter
    from qsjwt.signing.keys import certificate_pem, self_signed_certificate

    local: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP384R1())
    )
    client = _client()
    fake = _fake_kms(local)
    client.meta.events.register("before-send.kms", fake)
    remote = _open(monkeypatch, client)
    certificate = certificate_pem(
        self_signed_certificate(remote.key, common_name="kms", days=1, now=dt.datetime.now(dt.UTC))
    )
    minter = Minter(remote.key)
    if target == "qseow":
        minted = minter.qseow(user_id="svc_ci", user_directory="CORP", algorithm=algorithm)
    else:
        minted = minter.cloud(
            issuer="idp.example.com",
            key_id="kid-1",
            subject="svc_ci",
            name="CI",
            email="ci@example.com",
            algorithm=algorithm,
        )
    header, _ = verify_independently(minted.token, certificate, algorithm)
    assert header["alg"] == algorithm
    assert fake.seen == ["GetPublicKey", "Sign", "Sign"]  # the certificate, then the token


def test_a_kms_signature_made_with_another_key_never_leaves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A KMS (or something in its place) that serves one public key and signs with another:
    every remote signature is verified before a token leaves (issue 19), exit 4."""
    from qsjwt import Minter
    from qsjwt.base.errors import KeyServiceMalformedAnswerError

    served = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    honest, liar = _fake_kms(served), _fake_kms(signing)

    def send(request: Any, **kwargs: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().rpartition(".")[2]
        answer: AWSResponse = (liar if operation == "Sign" else honest)(request, **kwargs)
        return answer

    client = _client()
    client.meta.events.register("before-send.kms", send)
    remote = _open(monkeypatch, client)
    with pytest.raises(KeyServiceMalformedAnswerError) as refused:
        Minter(remote.key).qseow(user_id="svc_ci", user_directory="CORP")
    assert refused.value.exit_code == 4
    assert refused.value.input_name == "key-service"
