"""Google Cloud KMS: the key lives in Cloud KMS (an asymmetric-sign key version).

Standard library only, no Google client: google-cloud-kms brings grpcio and about 41 MiB for
what is, over REST, a token exchange and two calls, and the default image must not grow for
a back end most runs never load (this module is imported only for a ``gcpkms:`` key).

``key-service`` is ``gcpkms:`` and the key version's resource name,
``projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V``. The pipeline proves
who it is by workload identity federation: the CI's OIDC token (audience
``https://iam.googleapis.com/`` + the provider unless ``id-token-audience`` says otherwise)
is exchanged at Security Token Service (``sts.googleapis.com/v1/token``) for a federated
access token; with ``gcp-service-account`` that token then impersonates the service account
(``iamcredentials`` ``generateAccessToken``, ten minutes), else it is used on the key
directly (direct resource access). Each token goes to ``on_secret`` before it is used.

``getPublicKey`` gives the PEM and the version's algorithm; a Cloud KMS key version signs
with exactly one (RS256, RS512, PS256, PS512, ES256 or ES384: there is no RS384/PS384/ES512),
checked before each ``asymmetricSign``, which gets the digest made here (the claims stay on
the runner). Cloud KMS returns ECDSA signatures as DER; the seam wants r || s. Messages carry
Google's status names, never its words (they name projects, accounts and resources).

Without a provider, an ``external_account`` credential file in
``GOOGLE_APPLICATION_CREDENTIALS`` (google-github-actions/auth writes one) gives the provider,
the service account and perhaps the identity token's file (``gcp_credentials``).

``GOOGLE_CLOUD_UNIVERSE_DOMAIN`` (google-auth's variable) moves every host from
``googleapis.com`` to a sovereign universe; ``QSJWT_GCP_API_ROOT`` replaces the three hosts
(sts, iamcredentials, cloudkms) with one root URL, for tests on 127.0.0.1 (https, or http on
the loopback only).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import urllib.parse
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

from qsjwt.base.errors import (
    InputError,
    KeyServiceMalformedAnswerError,
    KeyServiceUnreachableError,
    ref,
)
from qsjwt.base.inputs import ID_TOKEN, KEY_SERVICE
from qsjwt.net.connection import check_base_url
from qsjwt.net.transport import Answer, Transport, UnreachableError, request_json
from qsjwt.signing.remote import Context, KeyService, RemoteECKey, RemoteKeyError, RemoteRSAKey
from qsjwt.signing.remote.gcp_credentials import (
    CREDENTIALS,
    ExternalAccount,
    read_external_account,
    subject_token,
)

PROVIDER = "gcp-workload-identity-provider"
SERVICE_ACCOUNT = "gcp-service-account"
UNIVERSE = "GOOGLE_CLOUD_UNIVERSE_DOMAIN"
API_ROOT = "QSJWT_GCP_API_ROOT"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_VERSION_NAME = re.compile(
    r"projects/[a-z0-9][a-z0-9.:-]{0,62}/locations/[a-z0-9-]{1,63}/keyRings/[A-Za-z0-9_-]{1,63}"
    r"/cryptoKeys/[A-Za-z0-9_-]{1,63}/cryptoKeyVersions/[0-9]{1,20}"
)
_PROVIDER_NAME = re.compile(
    r"projects/[0-9]{1,20}/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}"
    r"/providers/[a-z0-9-]{4,32}"
)
_ACCOUNT = re.compile(r"[a-z0-9-]{1,64}@[a-z0-9.-]{1,200}\.gserviceaccount\.com")
_UNIVERSE = re.compile(r"[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,4}")
_ALGORITHM = re.compile(
    r"RSA_SIGN_(?P<rsa>PKCS1|PSS)_\d{4}_SHA(?P<rsa_bits>256|512)|EC_SIGN_P(?:256|384)_SHA(?P<ec_bits>256|384)"
)
_JWS = {"pkcs1v15": "RS", "pss": "PS", "ecdsa": "ES"}


def parse_gcp_reference(rest: str) -> tuple[str]:
    """(the key version's resource name,); InputError naming ``key-service`` otherwise."""
    text = rest.strip().strip("/")
    if not _VERSION_NAME.fullmatch(text):
        raise InputError(
            "is not a Cloud KMS key version",
            input_name=KEY_SERVICE,
            hint="gcpkms:projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/1",
        )
    return (text,)


def open_gcp_key(service: KeyService, context: Context) -> RemoteRSAKey | RemoteECKey:
    """The Google Cloud KMS key version named by the reference, as a remote signing key."""
    client = _Client(service.path[0], context)
    client.log_in()
    return client.key()


def jws_of(algorithm: str) -> tuple[str, str] | None:
    """A Cloud KMS algorithm's (scheme, hash) for the seam, or None: it makes no JWS."""
    match = _ALGORITHM.fullmatch(algorithm)
    if match is None:
        return None
    if match["rsa"]:
        scheme = "pkcs1v15" if match["rsa"] == "PKCS1" else "pss"
        return scheme, f"sha{match['rsa_bits']}"
    return "ecdsa", f"sha{match['ec_bits']}"


class _Client:
    def __init__(self, name: str, context: Context) -> None:
        self.name = name
        self.context = context
        self.token = ""
        self.allowed: tuple[str, str] = ("", "")
        self.width = 0
        self.transport = Transport(ca_bundle=context.ca_bundle)
        root = context.ci_env.get(API_ROOT, "").strip()
        universe = context.ci_env.get(UNIVERSE, "").strip().lower() or "googleapis.com"
        if not _UNIVERSE.fullmatch(universe):
            raise InputError(
                "is not a domain name", input_name=UNIVERSE, hint="e.g. googleapis.com"
            )
        self.universe = universe
        self.root = check_base_url(root, input_name=API_ROOT) if root else ""

    def _url(self, service: str, path: str) -> str:
        return f"{self.root or f'https://{service}.{self.universe}'}/v1/{path}"

    # --- workload identity federation --------------------------------------------------------

    def log_in(self) -> None:
        provider = self.context.value(PROVIDER).removeprefix(f"//iam.{self.universe}/")
        account = self.context.value(SERVICE_ACCOUNT)
        external = self._external_account() if not provider else None
        if external is not None:
            provider, account = external.provider, account or external.service_account
        if not provider:
            raise InputError(
                "is required with a gcpkms: key service",
                input_name=PROVIDER,
                hint="the provider's resource name: projects/NUMBER/locations/global/"
                "workloadIdentityPools/POOL/providers/PROVIDER, or an external_account "
                "credential file in GOOGLE_APPLICATION_CREDENTIALS",
            )
        if not _PROVIDER_NAME.fullmatch(provider):
            raise InputError(
                "is not a workload identity provider's resource name",
                input_name=PROVIDER,
                hint="projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/"
                "PROVIDER (the project's number, not its id)",
            )
        if account and not _ACCOUNT.fullmatch(account):
            raise InputError(
                "is not a service account's e-mail address",
                input_name=SERVICE_ACCOUNT,
                hint="NAME@PROJECT.iam.gserviceaccount.com, or leave it empty to use the "
                "federated identity on the key directly",
            )
        from qsjwt.signing.remote.identity import AUDIENCE, identity_token  # noqa: PLC0415

        values = dict(self.context.values)
        if not values.get(AUDIENCE, "").strip():
            values[AUDIENCE] = f"https://iam.{self.universe}/{provider}"
        if external is not None and external.token_file:
            subject = subject_token(external)
            self.context.on_secret(subject)
        else:
            subject = identity_token(dataclasses.replace(self.context, values=values))
        body = {
            "grantType": "urn:ietf:params:oauth:grant-type:token-exchange",
            "audience": f"//iam.{self.universe}/{provider}",
            "scope": SCOPE,
            "requestedTokenType": "urn:ietf:params:oauth:token-type:access_token",
            "subjectToken": subject,
            "subjectTokenType": "urn:ietf:params:oauth:token-type:jwt",
        }
        answer = self._call("POST", self._url("sts", "token"), body, who=PROVIDER)
        token = answer.document.get("access_token")
        if answer.status != 200 or not isinstance(token, str) or not token:
            raise _sts_refusal(answer)
        self.context.on_secret(token)
        self.token = token
        if not account:
            return
        path = f"projects/-/serviceAccounts/{urllib.parse.quote(account)}:generateAccessToken"
        answer = self._call(
            "POST",
            self._url("iamcredentials", path),
            {"scope": [SCOPE], "lifetime": "600s"},
            who=SERVICE_ACCOUNT,
        )
        token = answer.document.get("accessToken")
        if answer.status != 200 or not isinstance(token, str) or not token:
            raise self._refusal(
                answer,
                "IAM refused to impersonate the service account",
                SERVICE_ACCOUNT,
                "grant the principal set of this repository (and branch, through the "
                f"provider's attribute condition) roles/iam.workloadIdentityUser on the "
                f"service account in {ref(SERVICE_ACCOUNT)}",
            )
        self.context.on_secret(token)
        self.token = token

    def _external_account(self) -> ExternalAccount | None:
        """google-github-actions/auth's credential file, when its variable names one."""
        path = self.context.ci_env.get(CREDENTIALS, "").strip()
        return read_external_account(path, self.universe) if path else None

    # --- the key ---------------------------------------------------------------------------

    def key(self) -> RemoteRSAKey | RemoteECKey:
        answer = self._call("GET", self._url("cloudkms", f"{self.name}/publicKey"))
        self._kms_refused(answer, "cloudkms.cryptoKeyVersions.viewPublicKey")
        algorithm = str(answer.document.get("algorithm") or "")
        allowed = jws_of(algorithm)
        if allowed is None:
            raise RemoteKeyError(
                "is a Cloud KMS key version that cannot sign JWTs",
                input_name=KEY_SERVICE,
                hint="create the key with purpose asymmetric-signing and an algorithm such as "
                "rsa-sign-pkcs1-2048-sha256 or ec-sign-p256-sha256",
            )
        self.allowed = allowed
        try:
            public = serialization.load_pem_public_key(
                str(answer.document.get("pem") or "").encode()
            )
        except ValueError:
            public = None
        if isinstance(public, rsa.RSAPublicKey) and allowed[0] != "ecdsa":
            return RemoteRSAKey(public, self)
        if isinstance(public, ec.EllipticCurvePublicKey) and allowed[0] == "ecdsa":
            self.width = (public.curve.key_size + 7) // 8
            return RemoteECKey(public, self)
        raise RemoteKeyError(
            "did not come with a readable public key from Cloud KMS", input_name=KEY_SERVICE
        )

    def sign_digest(self, digest: bytes, hash_name: str, scheme: str) -> bytes:
        if (scheme, hash_name) != self.allowed:
            fits = f"{_JWS[self.allowed[0]]}{self.allowed[1].removeprefix('sha')}"
            wanted = f"{_JWS[scheme]}{hash_name.removeprefix('sha')}"
            raise RemoteKeyError(
                f"is a Cloud KMS key version that signs {fits} only, not {wanted}",
                input_name=KEY_SERVICE,
                hint=f"set {ref('algorithm')} to {fits}, or name a key version whose algorithm "
                f"makes {wanted}",
            )
        body = {"digest": {hash_name: base64.b64encode(digest).decode()}}
        url = self._url("cloudkms", f"{self.name}:asymmetricSign")
        answer = self._call("POST", url, body, retry=True)  # signing again is harmless
        self._kms_refused(answer, "cloudkms.cryptoKeyVersions.useToSign")
        try:
            signature = base64.b64decode(str(answer.document.get("signature") or ""), validate=True)
            if not signature:
                raise ValueError("empty")
            if scheme != "ecdsa":
                return signature
            r, s = utils.decode_dss_signature(signature)
            return r.to_bytes(self.width, "big") + s.to_bytes(self.width, "big")
        except (binascii.Error, ValueError, OverflowError):
            raise KeyServiceMalformedAnswerError(
                "Cloud KMS returned no readable signature",
                input_name=KEY_SERVICE,
                hint="check that the address is Cloud KMS's and that nothing answers in its place",
            ) from None

    # --- HTTP ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        *,
        who: str = "",
        retry: bool | None = None,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            return request_json(
                method, url, headers=headers, body=body, transport=self.transport, retry=retry
            )
        except UnreachableError as err:
            raise err.error(
                f"Google Cloud could not be reached ({err.why}); nothing was signed",
                input_name=who or KEY_SERVICE,
                hint="check that this runner can reach *.googleapis.com (a proxy: HTTPS_PROXY; "
                "a private CA: SSL_CERT_FILE)",
            ) from None

    def _kms_refused(self, answer: Answer, permission: str) -> None:
        if answer.status == 200:
            return
        by = SERVICE_ACCOUNT if self.context.value(SERVICE_ACCOUNT) else PROVIDER
        whom = (
            f"the service account in {ref(SERVICE_ACCOUNT)}"
            if by == SERVICE_ACCOUNT
            else "the principal set of this repository in the pool"
        )
        raise self._refusal(
            answer,
            "Cloud KMS refused",
            by,
            f"grant {whom} roles/cloudkms.signerVerifier (which holds {permission}) on the key",
        )

    def _refusal(
        self, answer: Answer, what: str, by: str, grant: str
    ) -> RemoteKeyError | KeyServiceUnreachableError:
        status = _google_status(answer.document)
        said = f"HTTP {answer.status}" + (f", {status}" if status else "")
        if answer.status in (401, 403):
            return RemoteKeyError(f"{what} ({said})", input_name=by, hint=grant)
        if answer.status == 429 or answer.status >= 500:
            return KeyServiceUnreachableError(
                f"{what} ({said}); nothing was signed", input_name=by, hint="try again later"
            )
        if status == "FAILED_PRECONDITION":
            return RemoteKeyError(
                f"is a Cloud KMS key version that is not enabled ({said})",
                input_name=KEY_SERVICE,
                hint="enable the key version, or name an enabled one",
            )
        return RemoteKeyError(
            f"{what}: no such resource, or a bad request ({said})",
            input_name=KEY_SERVICE if by != SERVICE_ACCOUNT else by,
            hint="check the project, location, key ring, key and version"
            if by != SERVICE_ACCOUNT
            else "check the service account's e-mail address",
        )


def _google_status(document: dict[str, Any]) -> str:
    error = document.get("error")
    status = error.get("status") if isinstance(error, dict) else None
    return status if isinstance(status, str) and re.fullmatch(r"[A-Z_]{1,40}", status) else ""


def _sts_refusal(answer: Answer) -> RemoteKeyError | KeyServiceUnreachableError:
    """STS's refusal as its error code and a reason in its own terms, never its description
    (it repeats the token's audience and claims)."""
    error = str(answer.document.get("error") or "")
    shown = error if re.fullmatch(r"[a-z_]{1,40}", error) else _google_status(answer.document)
    said = f"HTTP {answer.status}" + (f", {shown}" if shown else "")
    if answer.status == 429 or answer.status >= 500:
        return KeyServiceUnreachableError(
            f"Google's Security Token Service failed ({said}); nothing was signed",
            input_name=PROVIDER,
            hint="try again later",
        )
    words = str(answer.document.get("error_description") or "").lower()
    if error == "invalid_target" or "pool" in words or "provider" in words:
        return RemoteKeyError(
            f"Google's Security Token Service knows no such enabled provider ({said})",
            input_name=PROVIDER,
            hint="check the project number, the pool and the provider, and that both are enabled",
        )
    reason = "it did not take the CI's identity token"
    if "audience" in words:
        reason = "the token's audience is not one the provider allows"
    elif "condition" in words:
        reason = "the provider's attribute condition refused this repository or branch"
    return RemoteKeyError(
        f"Google's Security Token Service refused the federation ({said}): {reason}",
        input_name=ID_TOKEN,
        hint=f"the provider must trust this CI's issuer, allow the audience (its default is "
        f"https://iam.googleapis.com/ and the provider's name, or set "
        f"{ref('id-token-audience')}) and have an attribute condition that holds for this "
        "repository and branch",
    )
