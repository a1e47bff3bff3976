"""AWS KMS: the key lives in KMS (an asymmetric SIGN_VERIFY key), which signs digests.

Needs ``pip install 'qs-jwt[aws]'`` (boto3, imported only here). ``key-service`` is
``kms:`` and a key or alias ARN (it carries the region) or ``alias/NAME`` / a key id (the
region then comes from ``AWS_REGION``). Credentials are boto3's own chain; in CI that is a
web-identity role: with ``AWS_ROLE_ARN`` and ``AWS_WEB_IDENTITY_TOKEN_FILE`` boto3 assumes the
role itself, and with ``AWS_ROLE_ARN`` alone this module takes the CI's identity token
(GitLab's ``id_tokens``, or GitHub's, audience ``sts.amazonaws.com`` unless
``id-token-audience`` says otherwise) and calls ``AssumeRoleWithWebIdentity``, masking the
temporary credentials it gets.

``GetPublicKey`` is called once: it gives the public key and the signing algorithms the key
allows, which are checked before any ``Sign``. ``Sign`` gets the digest made here
(``MessageType=DIGEST``): the claims stay on the runner. KMS returns ECDSA signatures as DER;
the seam wants r || s.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

from qsjwt.base.errors import InputError, KeyServiceUnreachableError, QsjwtError, ref
from qsjwt.base.inputs import ID_TOKEN, KEY_SERVICE
from qsjwt.signing.remote import Context, KeyService, RemoteECKey, RemoteKeyError, RemoteRSAKey

DEFAULT_AUDIENCE = "sts.amazonaws.com"
ROLE_ARN = "AWS_ROLE_ARN"
TOKEN_FILE = "AWS_WEB_IDENTITY_TOKEN_FILE"  # noqa: S105 (a variable name)
SESSION_NAME = "qs-jwt"
_ARN = re.compile(
    r"arn:aws[a-z-]*:kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:"
    r"(?P<key>key/[A-Za-z0-9-]{1,128}|alias/[A-Za-z0-9/_-]{1,250})"
)
_BARE = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}|(?:mrk-)?[A-Za-z0-9-]{32,64}")
SIGNING_ALGORITHMS = {
    ("pkcs1v15", "sha256"): "RSASSA_PKCS1_V1_5_SHA_256",
    ("pkcs1v15", "sha384"): "RSASSA_PKCS1_V1_5_SHA_384",
    ("pkcs1v15", "sha512"): "RSASSA_PKCS1_V1_5_SHA_512",
    ("pss", "sha256"): "RSASSA_PSS_SHA_256",
    ("pss", "sha384"): "RSASSA_PSS_SHA_384",
    ("pss", "sha512"): "RSASSA_PSS_SHA_512",
    ("ecdsa", "sha256"): "ECDSA_SHA_256",
    ("ecdsa", "sha384"): "ECDSA_SHA_384",
    ("ecdsa", "sha512"): "ECDSA_SHA_512",
}
"""(scheme, hash) -> KMS's SigningAlgorithm: every JWS algorithm KMS can make (RS, PS, ES)."""
_JWS = {
    "pkcs1v15": "RS",
    "pss": "PS",
    "ecdsa": "ES",
}


def parse_kms_reference(rest: str) -> tuple[str, str]:
    """(key id for KMS, region or ''): an ARN, ``alias/NAME`` or a key id; InputError naming
    ``key-service`` (never repeating it) otherwise."""
    text = rest.strip()
    if match := _ARN.fullmatch(text):
        return text, match["region"]
    if _BARE.fullmatch(text):
        return text, ""
    raise InputError(
        "is not a KMS key reference",
        input_name=KEY_SERVICE,
        hint="kms: and a key or alias ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or .../alias/NAME)"
        ", or kms:alias/NAME with AWS_REGION set",
    )


def open_kms_key(service: KeyService, context: Context) -> RemoteRSAKey | RemoteECKey:
    """The AWS KMS key named by the reference, as a remote signing key."""
    try:
        import boto3  # noqa: PLC0415 (the optional extra)
        import botocore.exceptions  # noqa: PLC0415
    except ImportError:
        raise InputError(
            "names an AWS KMS key, and boto3 is not installed",
            input_name=KEY_SERVICE,
            hint=_without_boto3(context.ci_env),
        ) from None
    key_id, region = service.path
    env = context.ci_env
    region = region or env.get("AWS_REGION", "") or env.get("AWS_DEFAULT_REGION", "")
    if not region:
        raise InputError(
            "names a KMS key without its region",
            input_name=KEY_SERVICE,
            hint="give the key's ARN (it carries the region), or set AWS_REGION",
        )
    calls = _Calls(botocore.exceptions, context)
    session = calls.run(lambda: _session(boto3, region, context), "sts")
    client = session.client("kms")
    answer = calls.run(lambda: client.get_public_key(KeyId=key_id), "kms:GetPublicKey")
    if answer.get("KeyUsage") != "SIGN_VERIFY":
        raise RemoteKeyError(
            "is a KMS key that cannot sign (its key usage is not SIGN_VERIFY)",
            input_name=KEY_SERVICE,
            hint="create an asymmetric key with KeyUsage SIGN_VERIFY (RSA_2048+ or ECC_NIST_*)",
        )
    try:
        public = serialization.load_der_public_key(bytes(answer["PublicKey"]))
    except (KeyError, TypeError, ValueError):
        raise RemoteKeyError(
            "did not come with a readable public key from KMS", input_name=KEY_SERVICE
        ) from None
    signer = _Signer(client, key_id, tuple(answer.get("SigningAlgorithms") or ()), calls)
    if isinstance(public, ec.EllipticCurvePublicKey):
        signer.width = (public.curve.key_size + 7) // 8
    if isinstance(public, rsa.RSAPublicKey):
        return RemoteRSAKey(public, signer)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return RemoteECKey(public, signer)
    raise RemoteKeyError("is neither an RSA nor an EC key", input_name=KEY_SERVICE)


IMAGE_MARKER = "QSJWT_IMAGE"
"""Set by the Dockerfile: the qs-jwt image, which has no boto3 and where pip cannot add it."""


def _without_boto3(env: Mapping[str, str]) -> str:
    """What works where boto3 is missing: never a pip command where pip cannot run."""
    if env.get(IMAGE_MARKER) and env.get("GITHUB_ACTIONS") == "true":
        action = env.get("GITHUB_ACTION_REPOSITORY") or "OWNER/qs-jwt"
        ref = env.get("GITHUB_ACTION_REF") or "v1"
        return (
            "the container action's image has no AWS client; use the composite action "
            f"`uses: {action}/anywhere@{ref}` with the same inputs, which installs qs-jwt[aws] "
            "hash-locked: docs/keyless-aws.md"
        )
    if env.get(IMAGE_MARKER):
        return (
            "the qs-jwt image has no AWS client; run qs-jwt in a Python job with "
            "pip install 'qs-jwt[aws]': docs/keyless-aws.md"
        )
    if getattr(sys, "frozen", False):
        return (
            "the single-file executable has no AWS client; install qs-jwt from PyPI with "
            "pip install 'qs-jwt[aws]': docs/keyless-aws.md"
        )
    return "pip install 'qs-jwt[aws]'"


def _session(boto3: Any, region: str, context: Context) -> Any:  # noqa: ANN401 (boto3 is untyped)
    """boto3's own credential chain, or a web-identity role with the CI's identity token."""
    role = context.ci_env.get(ROLE_ARN, "").strip()
    if not role or context.ci_env.get(TOKEN_FILE, "").strip():
        return boto3.session.Session(region_name=region)
    from botocore import UNSIGNED  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    from qsjwt.signing.remote.identity import AUDIENCE, identity_token  # noqa: PLC0415

    values: Mapping[str, str] = {AUDIENCE: DEFAULT_AUDIENCE, **context.values}
    if not values.get(AUDIENCE, "").strip():
        values = {**values, AUDIENCE: DEFAULT_AUDIENCE}
    token = identity_token(replace(context, values=values))
    sts = boto3.session.Session(region_name=region).client(
        "sts", config=Config(signature_version=UNSIGNED)
    )
    answer = sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName=SESSION_NAME, WebIdentityToken=token, DurationSeconds=900
    )
    credentials = answer["Credentials"]
    for name in ("SecretAccessKey", "SessionToken", "AccessKeyId"):
        context.on_secret(str(credentials[name]))
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


class _Calls:
    """Each call to AWS, its failures turned into messages that say what to change."""

    def __init__(self, exceptions: Any, context: Context) -> None:  # noqa: ANN401
        self.exceptions = exceptions
        self.context = context

    def run(self, call: Any, action: str) -> Any:  # noqa: ANN401
        errors = self.exceptions
        try:
            return call()
        except QsjwtError:
            raise
        except errors.NoCredentialsError:
            raise InputError(
                "names a KMS key, and no AWS credentials were found",
                input_name=KEY_SERVICE,
                hint=f"set {ROLE_ARN} to the role this pipeline may assume (with the CI's "
                "identity token), or run aws-actions/configure-aws-credentials first",
            ) from None
        except (
            errors.EndpointConnectionError,
            errors.ConnectTimeoutError,
            errors.ReadTimeoutError,
            errors.SSLError,
        ) as err:
            raise KeyServiceUnreachableError(
                f"AWS could not be reached ({type(err).__name__}); nothing was signed",
                input_name=KEY_SERVICE,
                hint="check that this runner can reach AWS (a proxy: HTTPS_PROXY; a private "
                "CA: AWS_CA_BUNDLE)",
            ) from None
        except errors.ClientError as err:
            raise _refusal(err, action) from None
        except errors.BotoCoreError as err:
            raise RemoteKeyError(
                f"AWS failed ({type(err).__name__})", input_name=KEY_SERVICE
            ) from None


def _refusal(err: Any, action: str) -> QsjwtError:  # noqa: ANN401
    """A ClientError as a message: AWS's error code (never its message, which may carry an
    ARN or an account), and what to change."""
    code = str(err.response.get("Error", {}).get("Code", "")) or "unknown"
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if action == "sts":
        return RemoteKeyError(
            f"AWS STS refused the web identity ({code})",
            input_name=ID_TOKEN,
            hint=f"the trust policy of the role in {ROLE_ARN} must trust the CI's OIDC provider "
            f"and this repository and branch (sub), with audience {DEFAULT_AUDIENCE} (or "
            f"{ref('id-token-audience')})",
        )
    if code in ("AccessDeniedException", "AccessDenied", "KMSInvalidStateException"):
        return RemoteKeyError(
            f"KMS refused {action} ({code})",
            input_name=KEY_SERVICE,
            hint=f"the role's IAM policy and the key policy must allow {action} on this key, "
            "and the key must be enabled",
        )
    if code in ("NotFoundException", "InvalidArnException", "ValidationException"):
        return RemoteKeyError(
            f"KMS has no such key or alias in this account and region ({code})",
            input_name=KEY_SERVICE,
            hint="check the ARN or alias, the region and the account of the role",
        )
    if code in ("InvalidKeyUsageException", "UnsupportedOperationException"):
        return RemoteKeyError(
            f"is a KMS key that cannot sign this way ({code})",
            input_name=KEY_SERVICE,
            hint="use an asymmetric SIGN_VERIFY key (RSA_2048+ or ECC_NIST_*)",
        )
    if isinstance(status, int) and status >= 500:
        return KeyServiceUnreachableError(
            f"AWS KMS failed (HTTP {status}, {code}); nothing was signed",
            input_name=KEY_SERVICE,
            hint="try again later",
        )
    return RemoteKeyError(f"KMS refused {action} ({code})", input_name=KEY_SERVICE)


class _Signer:
    def __init__(
        self,
        client: Any,  # noqa: ANN401
        key_id: str,
        allowed: tuple[str, ...],
        calls: _Calls,
    ) -> None:
        self.client = client
        self.key_id = key_id
        self.allowed = allowed
        self.calls = calls
        self.width = 0
        """an EC key's coordinate size in bytes: r and s each take this many in r || s"""

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        algorithm = SIGNING_ALGORITHMS[(scheme, hash_name)]
        if self.allowed and algorithm not in self.allowed:
            jws = f"{_JWS[scheme]}{hash_name.removeprefix('sha')}"
            raise RemoteKeyError(
                f"is a KMS key that does not allow {algorithm}, which {jws} needs",
                input_name=KEY_SERVICE,
                hint="choose an algorithm of this key's spec (an ECC_NIST_P384 key signs ES384"
                " only; RSA keys sign RS* and PS*)",
            )
        answer = self.calls.run(
            lambda: self.client.sign(
                KeyId=self.key_id,
                Message=digest,
                MessageType="DIGEST",
                SigningAlgorithm=algorithm,
            ),
            "kms:Sign",
        )
        signature = bytes(answer.get("Signature") or b"")
        if scheme != "ecdsa":
            return signature
        try:
            r, s = utils.decode_dss_signature(signature)
        except ValueError:
            raise RemoteKeyError(
                "KMS returned an unreadable ECDSA signature", input_name=KEY_SERVICE
            ) from None
        return r.to_bytes(self.width, "big") + s.to_bytes(self.width, "big")
