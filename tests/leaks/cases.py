"""The leak suite's one table: bad inputs (and the good ones) that every entry point runs.

A case is a mapping of input names, spelled as ``action.yml`` spells them (kebab-case), to
values, and what must happen: the exit code, a fragment of the one error message, and the input
that message must name. Each mode translates the inputs its own way (``INPUT_*`` variables for
the action, ``QSJWT_*`` variables or flags for the CLI, the GitLab template's variables) and
spells the name its own way (``user-id``, ``--user-id``, ``QSJWT_USER_ID``).

Exit codes are the CLI's: 0 a token, 2 bad input. The action exits 1 for every failure. Where
the two families differ (the CLI's target is its command; the action warns about an unknown
input where the CLI refuses an unknown flag), ``cli=`` or ``action=`` overrides the expectation;
``None`` there means the family cannot express the case (see ``why_not``).

Values are text, bytes (for NUL and non-UTF-8: only a file or an in-process call can carry a NUL,
so modes that go through an environment variable or argv leave those cases out), ``Key(...)``
for generated key material (tests/leaks/material.py), or ``Place`` for output destinations.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Literal

# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """Generated key material, by name in tests/leaks/material.py.

    ``part`` is private, public or certificate; ``mangle`` breaks the PEM first. A private key
    is then given in the mode's encoding (PEM, ``\\n``-escaped, base64, a file) unless
    ``verbatim`` (for text that is already the encoding under test, such as base64 garbage).
    """

    name: str = "rsa3072"
    part: Literal["private", "public", "certificate"] = "private"
    mangle: Callable[[bytes], bytes] | None = field(default=None, compare=False)
    verbatim: bool = False


class Place(Enum):
    """Where an output file (CLI) or a runner file command (action) points."""

    SYMLINK = "a symbolic link to an existing file"
    DANGLING_SYMLINK = "a symbolic link to a file that does not exist"
    DIRECTORY = "an existing directory"
    MISSING_DIRECTORY = "a file in a directory that does not exist"
    PARENT_IS_FILE = "a file below a regular file"
    READ_ONLY = "a file in a read-only directory (/proc/sys, read-only even for root)"
    FULL = "/dev/full: opens, then every write fails with ENOSPC"
    OUTSIDE = "a file outside the working directory (../elsewhere/)"
    SAME_AS_OUTPUT = "the same file as --output"
    UNSET = "the variable is not set"


Value = str | bytes | Key | Place

# The key services' credentials (issue 14): never real, each distinctive enough to be found.
VAULT_TOKEN = "hvs.qsjwtLeakSuiteVaultToken7Gk2Xw"
PKCS11_PIN = "pin-60415-Qx7"
ID_TOKEN = ".".join(
    base64.urlsafe_b64encode(part.encode()).decode().rstrip("=")
    for part in (
        '{"alg":"RS256","typ":"JWT","kid":"leak-suite"}',
        '{"iss":"https://token.actions.githubusercontent.com","aud":"https://vault.example.com",'
        '"sub":"repo:acme/qlik:ref:refs/heads/main","repository":"acme/qlik"}',
        "qs-jwt leak suite: the CI's OIDC identity token, not a real signature",
    )
)
"""A CI identity token as GitHub or GitLab hands one over: three base64url parts."""
CREDENTIALS = (VAULT_TOKEN, PKCS11_PIN, ID_TOKEN)

# --- expectations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    exit: int
    message: tuple[str, ...] = ()
    """fragments of the one error message: any one must appear"""
    names: str | None = None
    """the input the message must name (kebab-case, or a flag / variable as spelled)"""
    warning: str | None = None
    one_line: bool = True


@dataclass(frozen=True)
class Case:
    id: str
    about: str
    """the line of issue 5 it covers"""
    inputs: Mapping[str, Value]
    expect: Expect
    cli: Expect | Literal["same"] | None = "same"
    action: Expect | Literal["same"] | None = "same"
    gitlab: bool = True
    """False: the GitLab template cannot express it (e.g. an input name its spec rejects)"""
    cli_args: tuple[str | Key, ...] = ()
    """raw arguments appended on the CLI (mistakes only a command line can make)"""
    why_not: str = ""

    def for_cli(self) -> Expect | None:
        return self.expect if self.cli == "same" else self.cli

    def for_action(self) -> Expect | None:
        if self.action != "same":
            return self.action
        if self.cli_args:
            return None
        return replace(self.expect, exit=1) if self.expect.exit else self.expect


def ok(warning: str | None = None) -> Expect:
    return Expect(0, warning=warning)


def bad(names: str | None, *message: str) -> Expect:
    return Expect(2, message, names)


def action_bad(names: str | None, *message: str, warning: str | None = None) -> Expect:
    return Expect(1, message, names, warning=warning)


# --- the table ----------------------------------------------------------------------------------

QSEOW: dict[str, Value] = {
    "target": "qseow",
    "private-key": Key(),
    "user-id": "alice",
    "user-directory": "CORP",
}
CLOUD: dict[str, Value] = {
    "target": "cloud",
    "private-key": Key(),
    "issuer": "idp.example.com",
    "key-id": "kid-1",
    "subject": "svc_ci",
    "name": "CI Service",
    "email": "ci@example.com",
}
REQUIRED = "is required and was empty or not given"
CONTROL = "contains a line break or another control character"


def qseow(**changes: Value | None) -> dict[str, Value]:
    return _with(QSEOW, changes)


def cloud(**changes: Value | None) -> dict[str, Value]:
    return _with(CLOUD, changes)


def _with(base: Mapping[str, Value], changes: Mapping[str, Value | None]) -> dict[str, Value]:
    """``user_id=`` changes ``user-id`` (``GITHUB_ENV=`` stays as it is); ``None`` removes."""
    inputs = dict(base)
    for name, value in changes.items():
        kebab = name if name.isupper() else name.replace("_", "-")
        if value is None:
            inputs.pop(kebab, None)
        else:
            inputs[kebab] = value
    return inputs


def _truncate(pem: bytes) -> bytes:
    return pem[: len(pem) // 2]


def _drop_middle(pem: bytes) -> bytes:
    lines = pem.splitlines()
    return b"\n".join(lines[:3] + lines[-3:]) + b"\n"


def _garble(pem: bytes) -> bytes:
    lines = pem.splitlines()
    lines[5] = b"!!" + lines[5][2:]
    return b"\n".join(lines) + b"\n"


def _crlf(pem: bytes) -> bytes:
    return pem.replace(b"\n", b"\r\n")


def _cr_only(pem: bytes) -> bytes:
    return pem.replace(b"\n", b"\r")


def _indented(pem: bytes) -> bytes:
    """As a YAML block scalar pasted one level too deep: leading spaces on every line."""
    return b"".join(b"  " + line + b"\n" for line in pem.splitlines())


def _with_nul(pem: bytes) -> bytes:
    return pem[:200] + b"\x00" + pem[200:]


def _latin1_noise(pem: bytes) -> bytes:
    return b"\xff\xfe" + pem.replace(b"A", b"\xc4", 3)


def _two_keys(pem: bytes) -> bytes:
    return pem + pem


def _other_pem(kind: str) -> bytes:
    """A certificate or private key of another (throw-away P-256) key, made on first use."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from qsjwt.signing.keys import certificate_pem, private_pem, self_signed_certificate

    if kind not in _OTHER:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)
        cert = self_signed_certificate(key, common_name="bundle", days=36500, now=now)
        _OTHER.update(certificate=certificate_pem(cert), private=private_pem(key))
    return _OTHER[kind]


_OTHER: dict[str, bytes] = {}


def _pkcs12_dump(pem: bytes) -> bytes:
    """What ``openssl pkcs12 -nodes`` writes: attribute lines, the certificate, then the key."""
    bag = b"Bag Attributes\n    localKeyID: 01 02 03 04\n"
    return bag + _other_pem("certificate") + bag + pem


def _two_different_keys(pem: bytes) -> bytes:
    return pem + _other_pem("private")


def _expired(pem: bytes) -> bytes:
    """The same key's certificate, valid only in 2020 (issued by the throw-away key: the check
    compares keys, not signatures), then the chain's other certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from qsjwt.signing.keys import certificate_pem

    issuer = serialization.load_pem_private_key(_other_pem("private"), None)
    assert isinstance(issuer, ec.EllipticCurvePrivateKey)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "expired")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(x509.load_pem_x509_certificate(pem).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC))
        .sign(issuer, hashes.SHA256())
    )
    return certificate_pem(cert) + _other_pem("certificate")


def _base64_garbage(pem: bytes) -> bytes:
    return b"bm90IGEga2V5IGF0IGFsbA==" * 40  # base64 of "not a key at all", repeated


def _random_base64(pem: bytes) -> bytes:
    import base64
    import hashlib

    return base64.b64encode(b"".join(hashlib.sha256(bytes([i])).digest() for i in range(40)))


def _not_base64(pem: bytes) -> bytes:
    return b"%%% this is neither PEM nor base64 %%%"


def _base64_of_garbage_pem(pem: bytes) -> bytes:
    import base64

    return base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def _label_only(pem: bytes) -> bytes:
    return b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"


MB = 1024 * 1024
EXEC_SAFE = 100_000
"""Linux refuses an argument or environment string over 128 KiB (MAX_ARG_STRLEN), so a 1 MB
value cannot reach a process at all: process modes test this size, in-process modes 1 MB."""

DELIMITER = "ghadelimiter_5f0c3bd7-6a8c-4d2a-9a3e-0d5c1f3b9e21"
"""The shape of the heredoc delimiter GitHub's toolkits write into GITHUB_OUTPUT."""

_GOOD: list[Case] = [
    Case("good-qseow", "good: the baseline", QSEOW, ok()),
    Case("good-cloud", "good: the baseline", CLOUD, ok()),
    Case(
        "good-qseow-everything",
        "good: every QSEoW input",
        qseow(
            name="Alice Example",
            email="alice@example.com",
            groups="Sales\nOps, Admins",
            attributes="department=Sales\nregion=EMEA, North",
            audience="qlik",
            issuer="ci.example.com",
            expires_in="5m",
            algorithm="RS512",
            user_id_claim="uid",
            user_directory_claim="udir",
            groups_claim="roles",
        ),
        ok(),  # groups-claim given: no reminder to map the groups claim
    ),
    Case(
        "good-ldap-dn-groups",
        "good: one group per line; a comma (LDAP DN) and a $ stay in the group",
        cloud(groups="CN=Qlik Admins,OU=Groups,DC=corp\n\n  R&D $TEAM  \nDeployers\n"),
        ok(),
    ),
    Case(
        "good-qseow-ldap-dn-groups",
        "good: one group per line; a comma (LDAP DN) stays in the group",
        qseow(groups="CN=Qlik Admins,OU=Groups,DC=corp\r\nDeployers", clock_skew="0s"),
        ok(warning="reads the 'groups' claim only if"),
    ),
    Case(
        "good-cloud-es256",
        "good: an EC key with ES256 (Qlik Cloud)",
        cloud(private_key=Key("ec256"), algorithm="ES256", groups="A,B", clock_skew="30s"),
        ok(warning="ES256 is not what Qlik's tutorials show"),
    ),
    Case(
        "good-pkcs1", "good: a PKCS#1 (RSA PRIVATE KEY) key", qseow(private_key=Key("pkcs1")), ok()
    ),
    Case(
        "good-encrypted",
        "good: an encrypted key and its passphrase",
        qseow(private_key=Key("encrypted"), private_key_passphrase="qs-jwt test passphrase"),
        ok(warning="RSA key of 2048 bits"),
    ),
    Case(
        "good-legacy-encrypted",
        "good: a legacy encrypted PKCS#1 key (Proc-Type: 4,ENCRYPTED)",
        qseow(
            private_key=Key("pkcs1-encrypted"),
            private_key_passphrase="legacy pkcs1 passphrase 7Qx",
        ),
        ok(),
    ),
    Case(
        "good-passphrase-trailing-newline",
        "good: a passphrase secret saved with a trailing newline",
        qseow(private_key=Key("encrypted"), private_key_passphrase="qs-jwt test passphrase\n"),
        ok(warning="RSA key of 2048 bits"),
    ),
    Case(
        "good-rsa2048-warns",
        "good: RSA 2048 signs, with a warning naming the key",
        qseow(private_key=Key("rsa2048")),
        ok(warning="RSA key of 2048 bits"),
    ),
    Case(
        "good-certificate-matches",
        "good: the certificate configured in Qlik matches the key",
        qseow(certificate=Key(part="certificate")),
        ok(),
    ),
    Case(
        "good-expired-certificate",
        "keys as people have them: the key's certificate (in a chain) has expired: a warning",
        qseow(certificate=Key(part="certificate", mangle=_expired)),
        ok(warning="expired on 2021-01-01"),
    ),
    Case("good-crlf-pem", "CRLF PEM: accepted", qseow(private_key=Key(mangle=_crlf)), ok()),
    Case(
        "good-indented-pem",
        "malformed PEM that OpenSSL reads: every line indented (a YAML paste)",
        qseow(private_key=Key(mangle=_indented)),
        ok(),
    ),
    Case(
        "good-key-pasted-twice",
        "malformed PEM that OpenSSL reads: the key pasted twice (the first block is used)",
        qseow(private_key=Key(mangle=_two_keys)),
        ok(),
    ),
    Case(
        "good-pkcs12-bundle",
        "keys as people have them: a PEM bundle with a certificate first and the key after",
        qseow(private_key=Key(mangle=_pkcs12_dump)),
        ok(),
    ),
    Case(
        "two-different-private-keys",
        "keys as people have them: two different private keys in one input",
        qseow(private_key=Key(mangle=_two_different_keys)),
        bad("private-key", "holds 2 private keys"),
    ),
    Case(
        "good-cr-only-pem", "CR-only PEM: accepted", qseow(private_key=Key(mangle=_cr_only)), ok()
    ),
    Case(
        "good-cloud-lifetime-at-limit",
        "lifetimes: exactly the Qlik Cloud limit",
        cloud(expires_in="1h"),
        ok(),
    ),
    Case(
        "good-hostile-workflow-command",
        "hostile: `::` workflow-command text in a value",
        cloud(name="::set-output name=token::pwned", subject="::add-mask::svc"),
        ok(),
    ),
    Case(
        "good-hostile-escaped-command",
        "hostile: percent-encoded newline and `##[` runner markers in a value",
        cloud(name="x%0A::error::pwned %0D ##[group]y", subject="##[add-mask]svc"),
        ok(),
    ),
    Case(
        "good-hostile-delimiter",
        "hostile: the GITHUB_OUTPUT heredoc delimiter pattern in values",
        cloud(name=DELIMITER, key_id=DELIMITER, subject="token<<" + DELIMITER),
        ok(),
    ),
    Case(
        "good-hostile-markdown",
        "hostile: Markdown and HTML for the step summary",
        cloud(
            name="<img src=x onerror=alert(1)> | [x](https://evil.example) `c` ```",
            subject="@octocat ![i](https://evil.example/i.png) a\\|b",
        ),
        ok(),
    ),
    Case(
        "good-unicode",
        "hostile: non-ASCII text (valid UTF-8)",
        cloud(name="Zoë Ñandú 日本 🚀", subject="svc-\u00e9\u202e-rtl"),
        ok(),
    ),
    Case(
        "good-hostile-in-warning",
        "hostile: workflow-command text in a value that a warning quotes",
        cloud(email="##[set-output name=token;]pwned ::error::x"),
        ok(warning="does not look like an e-mail address"),
    ),
    Case(
        "good-name-at-limit",
        "hostile: a name of exactly the 1024 characters allowed",
        cloud(name="N" * 1024),
        ok(),
    ),
    Case(
        "good-unknown-input",
        "unknown input names: the action warns and goes on; the CLI refuses an unknown flag",
        qseow(expires_in_typo="5m"),
        ok(),
        cli=bad("--expires-in", "did you mean --expires-in?"),
        action=Expect(0, warning="Unexpected input(s) 'expires-in-typo'"),
        gitlab=False,
        why_not="GitLab refuses an input its spec does not declare when the pipeline is created",
    ),
    Case(
        "good-output-outside-workdir",
        "output path outside the workspace: the CLI writes where it is told, atomically, 0600",
        qseow(output=Place.OUTSIDE),
        ok(),
        action=None,
        gitlab=False,
        why_not="the action writes only the runner's file commands; the GitLab template fixes "
        "the paths",
    ),
    Case(
        "good-summary-unwritable",
        "a step summary that cannot be written is a warning, the token still goes out",
        qseow(GITHUB_STEP_SUMMARY=Place.DIRECTORY),
        ok(),
        cli=None,
        action=Expect(0, warning="GITHUB_STEP_SUMMARY"),
        why_not="runner file commands exist only for the action",
    ),
]

_REQUIRED: list[Case] = []
for _target, _base, _names in (
    ("qseow", QSEOW, ("user-id", "user-directory")),
    ("cloud", CLOUD, ("issuer", "key-id", "subject", "name", "email")),
):
    for _name in _names:
        for _kind, _value in (("missing", None), ("empty", ""), ("whitespace", " \t ")):
            _REQUIRED.append(
                Case(
                    f"{_target}-{_name}-{_kind}",
                    "each required input missing, empty or whitespace",
                    _with(_base, {_name: _value}),
                    bad(_name, REQUIRED),
                )
            )

_TARGET_CLI = Expect(2, ("invalid choice",), "COMMAND")
_TARGETS: list[Case] = [
    Case(
        "target-missing",
        "each required input missing, empty or whitespace",
        qseow(target=None),
        bad("target", "is required"),
        # the CLI says options go after the command; the GitLab template runs `qs-jwt ""`,
        # an invalid choice
        cli=Expect(2, ("goes after the command", "invalid choice"), "COMMAND"),
    ),
    Case(
        "target-empty",
        "each required input missing, empty or whitespace",
        qseow(target=""),
        bad("target", "is required"),
        cli=_TARGET_CLI,
    ),
    Case(
        "target-whitespace",
        "each required input missing, empty or whitespace",
        qseow(target="  "),
        bad("target", "is required"),
        cli=_TARGET_CLI,
    ),
    Case(
        "target-unknown",
        "unknown target",
        qseow(target="saas"),
        bad("target", "target: is not a target"),
        cli=_TARGET_CLI,
    ),
]

_UNKNOWN_NAMES: list[Case] = [
    Case(
        "unknown-input-underscore",
        "unknown input names: user_id for user-id",
        {**qseow(user_id=None), "user_id": "alice"},
        bad("user-id", REQUIRED),
        cli=bad("--user-id", "did you mean --user-id?"),
        action=action_bad(
            "user-id", REQUIRED, warning="Unexpected input(s) 'user_id' (did you mean user-id?)"
        ),
        gitlab=False,
        why_not="GitLab refuses an input its spec does not declare when the pipeline is created",
    ),
    Case(
        "unknown-input-holding-the-key",
        "unknown input names: the key under a misspelt name is neither used nor shown",
        qseow(private_key=None, private_key_text=Key()),
        bad("private-key", REQUIRED),
        cli=None,
        action=action_bad(
            "private-key", REQUIRED, warning="Unexpected input(s) 'private-key-text'"
        ),
        gitlab=False,
        why_not="the CLI reads the key only from its key options (see cli-private-key-flag)",
    ),
    Case(
        "cli-private-key-flag",
        "unknown input names: `--private-key KEY` (the action's input name) on the CLI",
        qseow(private_key=None),
        bad("--private-key", "unrecognized arguments"),
        cli_args=("--private-key", Key()),
        gitlab=False,
        why_not="only a command line can carry it",
    ),
    Case(
        "cli-private-key-flag-equals",
        "unknown input names: `--private-key=KEY`",
        qseow(private_key=None),
        bad("--private-key", "unrecognized arguments"),
        cli_args=(Key(mangle=lambda pem: b"--private-key=" + pem),),
        gitlab=False,
        why_not="only a command line can carry it",
    ),
    Case(
        "cli-passphrase-flag",
        "unknown input names: `--passphrase SECRET` on the CLI",
        qseow(private_key=Key("encrypted")),
        bad("--passphrase", "unrecognized arguments"),
        cli_args=("--passphrase", "wrong horse battery staple"),
        gitlab=False,
        why_not="only a command line can carry it",
    ),
    Case(
        "cli-key-as-positional",
        "unknown input names: the key as a stray argument",
        QSEOW,
        bad(None, "unrecognized arguments", "not shown"),
        cli_args=(Key(),),
        gitlab=False,
        why_not="only a command line can carry it",
    ),
    Case(
        "cli-key-as-command",
        "unknown target: the key where the command goes",
        qseow(target=Key(verbatim=True)),
        bad("COMMAND", "invalid choice: a value of"),
        action=None,
        why_not="the action's target is not a command (target-unknown covers it)",
    ),
    Case(
        "cli-key-file-holds-key-text",
        "the key text in QSJWT_PRIVATE_KEY_FILE (a GitLab variable of the wrong type)",
        qseow(private_key=None, private_key_file=Key()),
        bad("private-key", "cannot read the file it names"),
        action=None,
        why_not="the action has one key input, the text",
    ),
]

_KEYS: list[Case] = [
    Case(
        "key-missing",
        "each required input missing, empty or whitespace",
        qseow(private_key=None),
        bad("private-key", "no private key", REQUIRED),
    ),
    Case(
        "key-empty",
        "each required input missing, empty or whitespace",
        qseow(private_key=""),
        bad("private-key", "no private key", "is empty", REQUIRED),
    ),
    Case(
        "key-whitespace",
        "each required input missing, empty or whitespace",
        qseow(private_key=" \n\t\n "),
        bad("private-key", "is empty", REQUIRED),
    ),
    Case(
        "key-malformed-body",
        "malformed PEM",
        qseow(private_key=Key(mangle=_garble)),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-label-only",
        "malformed PEM: BEGIN and END and nothing between",
        qseow(private_key=Key(mangle=_label_only)),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-truncated",
        "truncated PEM (no END line)",
        qseow(private_key=Key(mangle=_truncate)),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-middle-missing",
        "truncated PEM (lines missing in the middle)",
        qseow(private_key=Key(mangle=_drop_middle)),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-crlf-truncated",
        "CRLF PEM, truncated",
        qseow(private_key=Key(mangle=lambda pem: _crlf(_truncate(pem)))),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-base64-garbage",
        "base64-garbage PEM",
        qseow(private_key=Key(mangle=_base64_garbage, verbatim=True)),
        bad("private-key", "is neither PEM text nor base64 of a PEM file"),
    ),
    Case(
        "key-random-base64",
        "base64-garbage PEM: random bytes",
        qseow(private_key=Key(mangle=_random_base64, verbatim=True)),
        bad("private-key", "is neither PEM text nor base64 of a PEM file"),
    ),
    Case(
        "key-not-base64",
        "base64-garbage PEM: not even base64",
        qseow(private_key=Key(mangle=_not_base64, verbatim=True)),
        bad("private-key", "is neither PEM text nor base64 of a PEM file"),
    ),
    Case(
        "key-base64-of-broken-pem",
        "base64-garbage PEM: base64 of a broken PEM",
        qseow(private_key=Key(mangle=_base64_of_garbage_pem, verbatim=True)),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-openssh-format",
        "malformed PEM: an OpenSSH private key",
        qseow(private_key=Key("openssh")),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-nul-byte",
        "NUL bytes: in the key (only a key file or an in-process call can carry one)",
        qseow(private_key=Key(mangle=_with_nul)),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-not-utf8",
        "non-UTF-8 bytes in the key",
        qseow(private_key=Key(mangle=_latin1_noise)),
        bad("private-key", "is not a readable PEM private key"),
    ),
    Case(
        "key-is-certificate",
        "a certificate as the key",
        qseow(private_key=Key(part="certificate")),
        bad("private-key", "is a certificate, not a private key"),
    ),
    Case(
        "key-is-public-key",
        "a public key as the key",
        qseow(private_key=Key(part="public")),
        bad("private-key", "is a public key, not a private key"),
    ),
    Case(
        "key-encrypted-no-passphrase",
        "an encrypted key without a passphrase",
        qseow(private_key=Key("encrypted")),
        bad("private-key", "is encrypted and no passphrase was given"),
    ),
    Case(
        "key-encrypted-wrong-passphrase",
        "an encrypted key with a wrong passphrase",
        qseow(private_key=Key("encrypted"), private_key_passphrase="wrong horse battery staple"),
        bad("private-key-passphrase", "does not decrypt the private key"),
    ),
    Case(
        "key-legacy-wrong-passphrase",
        "an encrypted key with a wrong passphrase (legacy PKCS#1 encryption)",
        qseow(
            private_key=Key("pkcs1-encrypted"),
            private_key_passphrase="wrong horse battery staple",
        ),
        bad("private-key-passphrase", "does not decrypt the private key"),
    ),
    Case(
        "key-passphrase-for-plain-key",
        "a passphrase for a key that is not encrypted",
        qseow(private_key_passphrase="wrong horse battery staple"),
        bad("private-key-passphrase", "is not encrypted, but a passphrase was given"),
    ),
    Case(
        "key-passphrase-not-utf8",
        "non-UTF-8 bytes in the passphrase",
        qseow(private_key=Key("encrypted"), private_key_passphrase=b"wrong horse \xff\xfe"),
        bad("private-key-passphrase", "does not decrypt the private key"),
    ),
    Case(
        "key-passphrase-nul",
        "NUL bytes in the passphrase",
        qseow(private_key=Key("encrypted"), private_key_passphrase=b"qs-jwt test\x00passphrase"),
        bad("private-key-passphrase", "does not decrypt the private key"),
    ),
    Case(
        "key-rsa1024",
        "RSA 1024",
        qseow(private_key=Key("rsa1024")),
        bad("private-key", "is an RSA key of 1024 bits, too weak"),
    ),
    Case(
        "key-ec-with-rs256",
        "an EC key with an RS algorithm",
        qseow(private_key=Key("ec256")),
        bad("private-key", "an EC key cannot sign RS256"),
    ),
    Case(
        "key-ec-cloud-rs256",
        "an EC key with an RS algorithm (Qlik Cloud)",
        cloud(private_key=Key("ec256"), algorithm="RS384"),
        bad("private-key", "an EC key cannot sign RS384"),
    ),
    Case(
        "key-ec384-with-es256",
        "an EC key on the wrong curve for its ES algorithm",
        cloud(private_key=Key("ec384"), algorithm="ES256"),
        bad("private-key", "ES256 needs an EC key on curve secp256r1"),
    ),
    Case(
        "key-ed25519",
        "an Ed25519 key with an RS algorithm",
        qseow(private_key=Key("ed25519")),
        bad("private-key", "Qlik verifies RSA keys"),
    ),
    Case(
        "key-rsa-with-es256",
        "an RSA key with an ES algorithm",
        cloud(algorithm="ES256"),
        bad("private-key", "an RSA key cannot sign ES256"),
    ),
    Case(
        "certificate-of-another-key",
        "a certificate that does not belong to the key",
        qseow(certificate=Key("rsa2048", part="certificate")),
        bad("certificate", "does not belong to the private key"),
    ),
    Case(
        "certificate-is-private-key",
        "the private key given as the certificate (not masked there, so never shown)",
        qseow(certificate=Key("rsa2048")),
        bad("certificate", "is a private key, not a certificate"),
    ),
    Case(
        "certificate-garbage",
        "malformed PEM as the certificate",
        qseow(certificate="-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
        bad("certificate", "is not a readable PEM certificate"),
    ),
]

_ALGORITHMS: list[Case] = [
    Case(
        "algorithm-none",
        "`none` algorithm",
        qseow(algorithm="none"),
        bad("algorithm", "'none' is refused"),
    ),
    Case(
        "algorithm-none-cloud",
        "`none` algorithm",
        cloud(algorithm="None"),
        bad("algorithm", "'None' is refused"),
    ),
    Case(
        "algorithm-hs256",
        "HS256",
        qseow(algorithm="HS256"),
        bad("algorithm", "'HS256' is refused"),
    ),
    Case(
        "algorithm-hs512-cloud",
        "HS256 (the HMAC family)",
        cloud(algorithm="hs512"),
        bad("algorithm", "'hs512' is refused"),
    ),
    Case(
        "algorithm-unknown",
        "unknown algorithms",
        qseow(algorithm="RS1024"),
        bad("algorithm", "the value given is not accepted by a QSEoW virtual proxy"),
    ),
    Case(
        "algorithm-es256-qseow",
        "unknown algorithms: ES256 where QSEoW takes only RS",
        qseow(algorithm="ES256", private_key=Key("ec256")),
        bad("algorithm", "'ES256' is not accepted by a QSEoW virtual proxy"),
    ),
    Case(
        "algorithm-eddsa-cloud",
        "unknown algorithms",
        cloud(algorithm="EdDSA"),
        bad("algorithm", "'EdDSA' is not accepted by Qlik Cloud"),
    ),
]

_LIFETIMES: list[Case] = [
    Case(
        "lifetime-zero", "lifetime 0", qseow(expires_in="0"), bad("expires-in", "longer than zero")
    ),
    Case(
        "lifetime-zero-minutes",
        "lifetime 0",
        cloud(expires_in="0m"),
        bad("expires-in", "longer than zero"),
    ),
    Case(
        "lifetime-negative",
        "lifetime negative",
        qseow(expires_in="-5m"),
        bad("expires-in", "is not a duration"),
    ),
    Case(
        "lifetime-words",
        "lifetime `1 hour`",
        qseow(expires_in="1 hour"),
        bad("expires-in", "is not a duration"),
    ),
    Case(
        "lifetime-fraction",
        "lifetime with a fraction",
        cloud(expires_in="1.5m"),
        bad("expires-in", "is not a duration"),
    ),
    Case(
        "lifetime-over-cloud-limit",
        "lifetime above the Qlik Cloud limit",
        cloud(expires_in="2h"),
        bad("expires-in", "longer than the 1h (3600 s) Qlik Cloud accepts"),
    ),
    Case(
        "lifetime-cloud-3601s",
        "lifetime above the Qlik Cloud limit by one second",
        cloud(expires_in="3601"),
        bad("expires-in", "longer than the 1h (3600 s) Qlik Cloud accepts"),
    ),
    Case(
        "clock-skew-not-shorter-than-lifetime",
        "clock-skew back-dates exp too: the token would have expired when made",
        cloud(expires_in="30s", clock_skew="30s"),
        bad("clock-skew", "is not shorter than"),
    ),
    Case(
        "lifetime-over-a-year",
        "lifetime above what the tool allows for QSEoW",
        qseow(expires_in="400d"),
        bad("expires-in", "longer than the 365d this tool allows"),
    ),
    Case(
        "lifetime-huge-number",
        "lifetime: more digits than any sane lifetime",
        qseow(expires_in="9" * 40),
        bad("expires-in", "is not a duration"),
    ),
    Case(
        "clock-skew-negative",
        "lifetime negative (clock-skew)",
        cloud(clock_skew="-30s"),
        bad("clock-skew", "is not a duration"),
    ),
]

_CLAIMS: list[Case] = [
    Case(
        "groups-control-character",
        "invalid groups",
        qseow(groups="Sales\tOps"),
        bad("groups", CONTROL),
    ),
    Case(
        "groups-too-long",
        "invalid groups: one group over 1024 characters",
        cloud(groups="G" * 2000),
        bad("groups", "over the 1024 allowed"),
    ),
    Case(
        "attributes-no-equals",
        "invalid attribute syntax",
        qseow(attributes="department"),
        bad("attributes", "item 1 is not KEY=VALUE"),
    ),
    Case(
        "attributes-empty-key",
        "invalid attribute syntax",
        qseow(attributes="=Sales"),
        bad("attributes", "is not KEY=VALUE"),
    ),
    Case(
        "attributes-bad-claim-name",
        "invalid attribute syntax: not a claim name",
        qseow(attributes="1dept=Sales"),
        bad("attributes", "item 1: the name before = is not a usable claim name"),
    ),
    Case(
        "attributes-duplicate",
        "invalid attribute syntax: a key twice",
        qseow(attributes="dept=A\ndept=B"),
        bad("attributes", "item 2: the name is given twice"),
    ),
    Case(
        "attributes-registered-exp",
        "attributes that collide with registered claims",
        qseow(attributes="exp=9999999999"),
        bad("attributes", "'exp' would overwrite a claim this tool sets"),
    ),
    Case(
        "attributes-registered-aud",
        "attributes that collide with registered claims",
        qseow(attributes="aud=other"),
        bad("attributes", "'aud' would overwrite a claim this tool sets"),
    ),
    Case(
        "attributes-user-id-claim",
        "attributes that collide with the claims this tool sets",
        qseow(attributes="userId=mallory"),
        bad("attributes", "'userId' would overwrite a claim this tool sets"),
    ),
    Case(
        "claim-name-registered",
        "attributes that collide with registered claims: a claim-name input",
        qseow(user_id_claim="sub"),
        bad("user-id-claim", "names the registered JWT claim 'sub'"),
    ),
    Case(
        "claim-name-invalid",
        "invalid attribute syntax: a claim-name input",
        qseow(user_directory_claim="user directory"),
        bad("user-directory-claim", "is not a usable claim name"),
    ),
    Case(
        "claim-names-equal",
        "claims that collide with each other",
        qseow(user_id_claim="who", user_directory_claim="who"),
        bad("user-directory-claim", "is the same claim name as user-id-claim"),
    ),
    Case(
        "user-id-backslash",
        "invalid identity: DIRECTORY\\user in one input",
        qseow(user_id="CORP\\alice"),
        bad("user-id", "contains a backslash"),
    ),
    Case(
        "email-verified-not-boolean",
        "invalid boolean",
        cloud(email_verified="maybe"),
        bad("email-verified", "is not true or false"),
    ),
]

_HOSTILE: list[Case] = [
    Case(
        "hostile-newline",
        "hostile: a newline in a value",
        qseow(user_id="alice\nbob"),
        bad("user-id", CONTROL),
    ),
    Case(
        "hostile-newline-command",
        "hostile: a newline followed by a workflow command",
        cloud(name="CI\n::set-output name=token::pwned\n::add-mask::x"),
        bad("name", CONTROL),
    ),
    Case(
        "hostile-cr-command",
        "hostile: a carriage return followed by a workflow command",
        cloud(subject="svc\r::error::pwned"),
        bad("subject", CONTROL),
    ),
    Case(
        "hostile-delimiter-line",
        "hostile: a value that closes the GITHUB_OUTPUT heredoc and opens another output",
        cloud(name=f"x\n{DELIMITER}\ntoken<<EOF\npwned\nEOF"),
        bad("name", CONTROL),
    ),
    Case(
        "hostile-line-separator",
        "hostile: a Unicode line separator (U+2028) or NEL (U+0085) in a value",
        cloud(subject="svc\u2028::set-output name=token::x", name="CI\u0085Service"),
        bad("subject", CONTROL),
    ),
    Case(
        "hostile-escape-sequence",
        "hostile: a terminal escape sequence",
        cloud(name="\x1b[2J\x1b[31mred"),
        bad("name", CONTROL),
    ),
    Case(
        "hostile-nul",
        "hostile: a NUL byte (in-process only: no environment variable or argument holds one)",
        qseow(user_id=b"ali\x00ce"),
        bad("user-id", CONTROL),
    ),
    Case(
        "hostile-not-utf8",
        "hostile: non-UTF-8 bytes in a value",
        qseow(user_id=b"al\xffice"),
        bad("user-id", "is not valid UTF-8"),
    ),
    Case(
        "hostile-not-utf8-cloud",
        "hostile: non-UTF-8 bytes in a value",
        cloud(name=b"Zo\xeb (latin-1)"),
        bad("name", "is not valid UTF-8"),
    ),
    Case(
        "hostile-name-1mb",
        "hostile: a 1 MB name (in-process only: over what Linux lets a process receive)",
        cloud(name="N" * MB),
        bad("name", "over the 1024 allowed"),
    ),
    Case(
        "hostile-name-100kb",
        "hostile: a 1 MB name, cut to what a process can receive (100 kB)",
        cloud(name="N" * EXEC_SAFE),
        bad("name", "over the 1024 allowed"),
    ),
    Case(
        "hostile-1mb-key",
        "hostile: 1 MB of key text (in-process only)",
        qseow(private_key=Key(mangle=lambda pem: b"A" * MB, verbatim=True)),
        bad(
            "private-key",
            "larger than 256 KiB",
            "longer than 256 KiB",
            "is neither PEM text nor base64 of a PEM file",
        ),
    ),
    Case(
        "hostile-token-too-big",
        "unbounded input: so many groups that no HTTP front end would take the token",
        qseow(groups="\n".join(f"Group-{n:04d}-with-a-fairly-long-name" for n in range(600))),
        bad("groups", "over the 16 KB"),
    ),
    Case(
        "hostile-dotenv-variable",
        "hostile: a dotenv variable name that would inject a line",
        qseow(dotenv_variable="X=1\nQLIK_JWT", dotenv="jwt.env"),
        bad("dotenv-variable", "is not an environment variable name"),
        action=None,
        gitlab=False,
        why_not="the action has no dotenv file (export-env covers it); the GitLab template "
        "checks output-variable with a regex",
    ),
    Case(
        "hostile-export-env-name",
        "hostile: an export-env name that would inject a GITHUB_ENV line",
        qseow(export_env="X\nNODE_OPTIONS=--require=/tmp/x"),
        bad("export-env", "is not an environment variable name"),
        cli=None,
        why_not="GITHUB_ENV exists only for the action",
    ),
    Case(
        "hostile-export-env-reserved",
        "hostile: export-env naming a variable the runner reserves",
        qseow(export_env="GITHUB_TOKEN"),
        bad("export-env", "changes how later steps or jobs run"),
        cli=None,
        why_not="GITHUB_ENV exists only for the action",
    ),
]

_OUTPUTS: list[Case] = [
    Case(
        "output-symlink",
        "an output path that is a symlink",
        qseow(output=Place.SYMLINK),
        bad("output", "is a symbolic link"),
        action=None,
        gitlab=False,
        why_not="the action writes no file of its own; the GitLab template fixes the paths",
    ),
    Case(
        "output-dangling-symlink",
        "an output path that is a symlink to nowhere (the write would create its target)",
        qseow(dotenv=Place.DANGLING_SYMLINK),
        bad("dotenv", "is a symbolic link"),
        action=None,
        gitlab=False,
        why_not="the action writes no file of its own; the GitLab template fixes the paths",
    ),
    Case(
        "output-is-directory",
        "an unwritable output path: a directory",
        qseow(output=Place.DIRECTORY),
        bad("output", "is a directory"),
        action=None,
        gitlab=False,
        why_not="the action writes no file of its own; the GitLab template fixes the paths",
    ),
    Case(
        "output-missing-directory",
        "an unwritable output path: no such directory",
        qseow(output=Place.MISSING_DIRECTORY),
        bad("output", "does not exist"),
        action=None,
        gitlab=False,
        why_not="the action writes no file of its own; the GitLab template fixes the paths",
    ),
    Case(
        "output-below-a-file",
        "an unwritable output path: below a regular file",
        qseow(dotenv=Place.PARENT_IS_FILE),
        bad("dotenv", "does not exist"),
        action=None,
        gitlab=False,
        why_not="the action writes no file of its own; the GitLab template fixes the paths",
    ),
    Case(
        "output-read-only",
        "an unwritable output path: a read-only directory",
        qseow(output=Place.READ_ONLY),
        bad("output", "is not writable"),
        action=None,
        gitlab=False,
        why_not="the action writes no file of its own; the GitLab template fixes the paths",
    ),
    Case(
        "output-device",
        "an output path that is a device (/dev/full): never replaced by a 0600 file, even as root",
        qseow(output=Place.FULL),
        bad("output", "is a character device, not a regular file"),
        action=None,
        gitlab=False,
        why_not="the action writes no file of its own; the GitLab template fixes the paths",
    ),
    Case(
        "output-same-as-dotenv",
        "an output path given twice",
        qseow(output="token.jwt", dotenv=Place.SAME_AS_OUTPUT),
        bad("dotenv", "names the same file as --output"),
        action=None,
        gitlab=False,
        why_not="the action writes no file of its own; the GitLab template fixes the paths",
    ),
    Case(
        "github-output-unset",
        "an unwritable GITHUB_OUTPUT: not set",
        qseow(GITHUB_OUTPUT=Place.UNSET),
        action_bad("GITHUB_OUTPUT", "is not set"),
        cli=None,
        why_not="runner file commands exist only for the action",
    ),
    Case(
        "github-output-directory",
        "an unwritable GITHUB_OUTPUT: a directory",
        qseow(GITHUB_OUTPUT=Place.DIRECTORY),
        action_bad("GITHUB_OUTPUT", "cannot be written"),
        cli=None,
        why_not="runner file commands exist only for the action",
    ),
    Case(
        "github-output-read-only",
        "an unwritable GITHUB_OUTPUT: in a read-only directory",
        qseow(GITHUB_OUTPUT=Place.READ_ONLY),
        action_bad("GITHUB_OUTPUT", "cannot be written"),
        cli=None,
        why_not="runner file commands exist only for the action",
    ),
    Case(
        "github-output-full",
        "an unwritable GITHUB_OUTPUT: every write fails after the token exists",
        qseow(GITHUB_OUTPUT=Place.FULL),
        action_bad("GITHUB_OUTPUT", "the token was not passed on"),
        cli=None,
        why_not="runner file commands exist only for the action",
    ),
    Case(
        "github-env-full",
        "an unwritable GITHUB_ENV with export-env",
        qseow(export_env="QLIK_JWT", GITHUB_ENV=Place.FULL),
        action_bad("GITHUB_ENV", "cannot be written"),
        cli=None,
        why_not="runner file commands exist only for the action",
    ),
    Case(
        "github-env-unset",
        "an unwritable GITHUB_ENV with export-env: not set",
        qseow(export_env="QLIK_JWT", GITHUB_ENV=Place.UNSET),
        action_bad("GITHUB_ENV", "is not set"),
        cli=None,
        why_not="runner file commands exist only for the action",
    ),
    Case(
        "good-export-env",
        "good: the token also in GITHUB_ENV (its intended place)",
        qseow(export_env="QLIK_JWT"),
        ok(),
        cli=None,
        why_not="GITHUB_ENV exists only for the action",
    ),
]

# --- Qlik Cloud OAuth (the third target) ----------------------------------------------------

OAUTH: dict[str, Value] = {
    "target": "oauth",
    "private-key": Key(),
    # nothing listens on port 1: a run that gets as far as the exchange ends at once (exit 4),
    # inside the image's empty network too
    "tenant": "127.0.0.1:1",
    "client-id": "client-1",
    "timeout": "1s",
}


def oauth(**changes: Value | None) -> dict[str, Value]:
    return _with(OAUTH, changes)


_PEM_ARMOUR = "holds a credential"  # the one rule: base.values
_OAUTH: list[Case] = [
    Case(
        "good-oauth-assertion-only",
        "good: an OAuth client assertion, not posted",
        oauth(assertion_only="true", timeout=None),
        ok(),
    ),
    Case(
        "good-oauth-assertion-es384",
        "good: an OAuth client assertion signed with an EC P-384 key",
        oauth(assertion_only="true", timeout=None, private_key=Key("ec384")),
        ok(),
    ),
    Case(
        "good-oauth-other-target-input",
        "good: an input of another target is ignored, with a warning",
        oauth(assertion_only="true", timeout=None, user_id="alice"),
        ok(warning="is ignored for target oauth"),
        cli=None,
        gitlab=False,
        why_not="the CLI has no flag for another target's input and reads only its own "
        "target's variables; the GitLab job passes every input as a variable, so the same",
    ),
    Case(
        "oauth-unreachable",
        "OAuth: Qlik cannot be reached (exit 4), and nothing is output",
        OAUTH,
        Expect(4, ("could not reach Qlik",), "tenant"),
    ),
    Case(
        "oauth-tenant-and-client-missing",
        "each required input missing, empty or whitespace",
        oauth(tenant=None, client_id=" "),
        bad("tenant", REQUIRED),
    ),
    Case(
        "oauth-tenant-http",
        "OAuth: the tenant must be https",
        oauth(tenant="http://tenant.eu.qlikcloud.com"),
        bad("tenant", "must use https"),
    ),
    Case(
        "oauth-tenant-path",
        "OAuth: the tenant is a host, never the token URL",
        oauth(tenant="https://tenant.eu.qlikcloud.com/oauth/token"),
        bad("tenant", "holds a path"),
    ),
    Case(
        "oauth-tenant-user-info",
        "OAuth: credentials in the tenant URL are refused, not shown",
        oauth(tenant="https://ci:S3cret-Passphrase-0042@tenant.eu.qlikcloud.com"),
        bad("tenant", "holds user info"),
    ),
    Case(
        "oauth-key-as-client-id",
        "a secret where a value belongs: the key given as the client id",
        oauth(client_id=Key()),
        bad("client-id", _PEM_ARMOUR, "printable ASCII"),
    ),
    Case(
        "oauth-key-as-scope",
        "a secret where a value belongs: the key given as the scope is never sent",
        oauth(scope=Key()),
        bad("scope", _PEM_ARMOUR, "longer than 128"),
    ),
    Case(
        "oauth-key-as-user-lookup",
        "a secret where a value belongs: the key given as the user lookup",
        oauth(grant="user-impersonation", user_lookup=Key()),
        bad("user-lookup", _PEM_ARMOUR, "does not say which field", "names a field"),
    ),
    Case(
        "oauth-grant-unknown",
        "OAuth: a grant this tool does not know",
        oauth(grant="password"),
        bad("grant", "is not a grant this tool knows"),
    ),
    Case(
        "oauth-lookup-without-impersonation",
        "OAuth: a user lookup is only read with user impersonation",
        oauth(user_lookup="subject=auth0|alice"),
        bad("user-lookup", "is only read with"),
    ),
    Case(
        "oauth-impersonation-without-lookup",
        "each required input missing, empty or whitespace",
        oauth(grant="user-impersonation"),
        bad("user-lookup", "is required with"),
    ),
    Case(
        "oauth-lookup-field",
        "OAuth: Qlik looks users up by subject or userId only",
        oauth(grant="user-impersonation", user_lookup="email=alice@example.com"),
        bad("user-lookup", "names a field"),
    ),
    Case(
        "oauth-timeout-long",
        "OAuth: the exchange waits at most 10 minutes",
        oauth(timeout="11m"),
        bad("timeout", "longer than the 10m"),
    ),
    Case(
        "oauth-assertion-too-long",
        "OAuth: Qlik takes an assertion for at most 300 s",
        oauth(expires_in="6m"),
        bad("expires-in", "300 s"),
    ),
    Case(
        "oauth-algorithm-ps256",
        "OAuth: RS256, RS512 or ES384 only",
        oauth(algorithm="PS256"),
        bad("algorithm", "RS256"),
    ),
    Case(
        "oauth-ec-p256-key",
        "OAuth: an EC key must be on P-384",
        oauth(private_key=Key("ec256")),
        bad("private-key", "P-384"),
    ),
    Case(
        "oauth-small-rsa-key",
        "OAuth: RSA keys of at least 2048 bits",
        oauth(private_key=Key("rsa1024")),
        bad("private-key", "2048"),
    ),
    Case(
        "oauth-insecure-and-ca-bundle",
        "OAuth: a CA bundle is only read when certificates are verified",
        oauth(insecure="true", ca_bundle="/etc/ssl/certs/ca-certificates.crt"),
        bad("insecure", "are both given"),
    ),
    Case(
        "oauth-ca-bundle-missing",
        "OAuth: a CA bundle that is not a file",
        oauth(ca_bundle="/nowhere/ca.pem"),
        bad("ca-bundle", "cannot read the file it names"),
    ),
    Case(
        "oauth-key-as-ca-bundle",
        "a secret where a path belongs: the key given as the CA bundle",
        oauth(ca_bundle=Key()),
        bad("ca-bundle", _PEM_ARMOUR, "cannot be read"),
    ),
    Case(
        "oauth-assertion-only-not-boolean",
        "OAuth: assertion-only is true or false",
        oauth(assertion_only="maybe"),
        bad("assertion-only", "is not true or false"),
    ),
]

_URL_REFUSALS = (
    CONTROL,
    _PEM_ARMOUR,
    "is not a valid host name",
    "is not a host name or https URL",
    "not a virtual proxy prefix",
    "holds a query or fragment",
    "holds a path",
)
_CHECK: list[Case] = [
    Case(
        "check-qseow-unreachable",
        "check: the virtual proxy cannot be reached (exit 4); nothing is output",
        qseow(check="true", virtual_proxy_url="https://127.0.0.1:1/jwt", timeout="1s"),
        Expect(4, ("could not reach Qlik",), "virtual-proxy-url"),
    ),
    Case(
        "check-cloud-unreachable",
        "check: the tenant cannot be reached (exit 4); nothing is output",
        cloud(check="true", tenant="127.0.0.1:1", timeout="1s"),
        Expect(4, ("could not reach Qlik",), "tenant"),
    ),
    Case(
        "check-qseow-without-url",
        "each required input missing, empty or whitespace",
        qseow(check="true"),
        bad("virtual-proxy-url", REQUIRED),
    ),
    Case(
        "check-qseow-http-url",
        "check: the virtual proxy must be https",
        qseow(check="true", virtual_proxy_url="http://qlik.example.com/jwt"),
        bad("virtual-proxy-url", "must use https"),
    ),
    Case(
        "check-key-as-virtual-proxy-url",
        "a secret where a value belongs: the key given as the virtual proxy URL",
        qseow(check="true", virtual_proxy_url=Key()),
        bad("virtual-proxy-url", *_URL_REFUSALS),
    ),
    Case(
        "check-key-as-tenant",
        "a secret where a value belongs: the key given as the tenant",
        cloud(check="true", tenant=Key()),
        bad("tenant", *_URL_REFUSALS),
    ),
    Case(
        "check-not-boolean",
        "check is true or false",
        qseow(check="maybe"),
        bad("check", "is not true or false"),
    ),
    Case(
        "good-check-inputs-without-check",
        "good: where Qlik is, given without check, is only warned about",
        qseow(virtual_proxy_url="https://qlik.example.com/jwt"),
        ok(warning="is only read with"),
    ),
]

VAULT_KEY = "vault:transit/qlik-jwt"
PKCS11_KEY = "pkcs11:token=qlik;object=qlik-jwt"
AZURE_KEY = "azurekv:https://acme-qlik.vault.azure.net/keys/qlik-jwt"
GCP_KEY = "gcpkms:projects/acme/locations/global/keyRings/qlik/cryptoKeys/jwt/cryptoKeyVersions/1"
AZURE_TENANT = "00000000-0000-4000-8000-00000000a2e1"
GCP_PROVIDER = "projects/123456789/locations/global/workloadIdentityPools/ci/providers/github"
NO_VAULT = "http://127.0.0.1:1"
"""nothing listens on port 1: a run that gets as far as the key service ends at once (exit 4)"""


def keyless(**changes: Value | None) -> dict[str, Value]:
    """A QSEoW token signed through a key service: no private key anywhere."""
    return _with(QSEOW, {"private_key": None, **changes})


_HOLDS_TOKEN = "holds a credential"  # the one rule: base.values
_CLI_ONLY = "only a command line can carry it"
_KEYLESS: list[Case] = [
    Case(
        "keyless-id-token-as-key-service",
        "a credential where a reference belongs: the CI's identity token as key-service",
        keyless(key_service=ID_TOKEN),
        bad("key-service", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-vault-token-as-key-service",
        "a credential where a reference belongs: a Vault token as key-service",
        keyless(key_service=VAULT_TOKEN),
        bad("key-service", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-pin-in-pkcs11-uri",
        "a malformed reference holding a secret: the PIN inside the PKCS#11 URI (pin-value)",
        keyless(key_service=f"{PKCS11_KEY}?pin-value={PKCS11_PIN}", pkcs11_pin=PKCS11_PIN),
        bad("key-service", "carries a PIN"),
    ),
    Case(
        "keyless-vault-token-in-malformed-reference",
        "a malformed reference holding a secret: a Vault token in a transit path with a space",
        keyless(key_service=f"vault:transit/{VAULT_TOKEN} key"),
        bad("key-service", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-id-token-as-key-name",
        "a credential where a reference belongs: the identity token as the transit key's name",
        keyless(key_service=f"vault:transit/{ID_TOKEN}", vault_address=NO_VAULT),
        bad("key-service", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-id-token-as-vault-address",
        "a credential where a URL belongs: the identity token as vault-address",
        keyless(key_service=VAULT_KEY, vault_address=ID_TOKEN),
        bad("vault-address", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-vault-token-in-address-user-info",
        "a credential in a URL: the Vault token as the user info of vault-address",
        keyless(key_service=VAULT_KEY, vault_address=f"https://{VAULT_TOKEN}@vault.example.com"),
        bad("vault-address", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-vault-token-in-address-query",
        "a credential in a URL: the Vault token in the query of vault-address",
        keyless(
            key_service=VAULT_KEY,
            vault_address=f"https://vault.example.com:8200/?token={VAULT_TOKEN}",
        ),
        bad("vault-address", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-vault-plain-http",
        "a Vault token would cross the network in clear: plain http to another machine",
        keyless(
            key_service=VAULT_KEY, vault_address="http://vault.example.com", vault_token=VAULT_TOKEN
        ),
        bad("vault-address", "plain http"),
    ),
    Case(
        "keyless-vault-unreachable",
        "the key service cannot be reached (exit 4); the Vault token is masked, never shown",
        keyless(key_service=VAULT_KEY, vault_address=NO_VAULT, vault_token=VAULT_TOKEN + "\n"),
        Expect(4, ("could not be reached",), "vault-address"),
    ),
    Case(
        "keyless-pin-as-vault-role",
        "a secret where a value belongs: the PIN as vault-role, sent to no one (exit 4); the "
        "identity token is masked first",
        keyless(
            key_service=VAULT_KEY,
            vault_address=NO_VAULT,
            vault_role=PKCS11_PIN,
            id_token=ID_TOKEN,
        ),
        Expect(4, ("could not be reached",), "vault-address"),
    ),
    Case(
        "keyless-vault-without-role-or-token",
        "each required input missing: neither a role for the identity token nor a Vault token",
        keyless(key_service=VAULT_KEY, vault_address=NO_VAULT),
        bad("vault-role", "is required to log in"),
    ),
    Case(
        "keyless-no-identity-token",
        "no CI identity token: the job was granted none (id-token: write) and none was given",
        keyless(
            key_service=VAULT_KEY,
            vault_address=NO_VAULT,
            vault_role="qlik-main",
            id_token_audience="https://vault.example.com",
        ),
        bad("id-token", "no CI identity token"),
    ),
    Case(
        "keyless-id-token-as-audience",
        "a credential where a value belongs: the identity token as its own audience",
        keyless(
            key_service=VAULT_KEY,
            vault_address=NO_VAULT,
            vault_role="qlik-main",
            id_token_audience=ID_TOKEN,
        ),
        bad("id-token-audience", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-pin-with-newline-unreachable",
        "a PIN secret saved with a trailing newline is masked line by line; no module, no PIN "
        "shown",
        keyless(key_service=PKCS11_KEY, pkcs11_pin=PKCS11_PIN + "\n"),
        bad("pkcs11-module", "is required with a pkcs11: key service"),
    ),
    Case(
        "keyless-id-token-as-claim",
        "a credential where a claim belongs: the identity token as the user id",
        qseow(user_id=ID_TOKEN),
        bad("user-id", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-vault-token-as-claim",
        "a credential where a claim belongs: a Vault token as a Qlik Cloud subject",
        cloud(subject=VAULT_TOKEN),
        bad("subject", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-id-token-as-oauth-client-id",
        "a credential where a value belongs: the identity token as the OAuth client id",
        oauth(client_id=ID_TOKEN),
        bad("client-id", _HOLDS_TOKEN, "printable ASCII"),
    ),
    Case(
        "keyless-pkcs11-without-module",
        "each required input missing: the PKCS#11 module; the PIN is masked, never shown",
        keyless(key_service=PKCS11_KEY, pkcs11_pin=PKCS11_PIN),
        bad("pkcs11-module", "is required with a pkcs11: key service"),
    ),
    Case(
        "keyless-pkcs11-without-pin",
        "each required input missing: the PKCS#11 PIN",
        keyless(key_service=PKCS11_KEY, pkcs11_module="/nowhere/libsofthsm2.so"),
        bad("pkcs11-pin", "is required to log in"),
    ),
    Case(
        "keyless-key-service-and-private-key",
        "a key service and a private key: one signs, never both",
        qseow(key_service=VAULT_KEY, vault_address=NO_VAULT, vault_token=VAULT_TOKEN),
        bad("key-service", "both given"),
    ),
    Case(
        "keyless-id-token-as-azure-client-id",
        "a credential where a value belongs: the identity token as azure-client-id",
        keyless(key_service=AZURE_KEY, azure_tenant_id=AZURE_TENANT, azure_client_id=ID_TOKEN),
        bad("azure-client-id", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-vault-token-in-key-vault-url",
        "a credential in a URL: a token as the user info of the Key Vault key's URL",
        keyless(key_service=f"azurekv:https://{VAULT_TOKEN}@acme-qlik.vault.azure.net/keys/k"),
        bad("key-service", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-azure-without-tenant",
        "each required input missing: the Entra tenant; the identity token given is never shown",
        keyless(key_service=AZURE_KEY, id_token=ID_TOKEN),
        bad("azure-tenant-id", "is required with an azurekv: key service"),
    ),
    Case(
        "keyless-id-token-as-gcp-provider",
        "a credential where a value belongs: the identity token as the workload identity provider",
        keyless(key_service=GCP_KEY, gcp_workload_identity_provider=ID_TOKEN),
        bad("gcp-workload-identity-provider", _HOLDS_TOKEN),
    ),
    Case(
        "keyless-id-token-as-gcp-service-account",
        "a credential where a value belongs: the identity token as the service account",
        keyless(
            key_service=GCP_KEY,
            gcp_workload_identity_provider=GCP_PROVIDER,
            gcp_service_account=ID_TOKEN,
        ),
        bad("gcp-service-account", _HOLDS_TOKEN),
    ),
    Case(
        "cli-vault-token-flag",
        "unknown input names: `--vault-token SECRET` on the CLI (a variable only)",
        keyless(key_service=VAULT_KEY, vault_address=NO_VAULT),
        bad(None, "unrecognized arguments", "not shown"),
        cli_args=("--vault-token", VAULT_TOKEN),
        gitlab=False,
        why_not=_CLI_ONLY,
    ),
    Case(
        "cli-pin-flag",
        "unknown input names: `--pin=PIN` on the CLI (a variable only)",
        keyless(key_service=PKCS11_KEY, pkcs11_module="/nowhere/libsofthsm2.so"),
        bad(None, "unrecognized arguments", "not shown"),
        cli_args=(f"--pin={PKCS11_PIN}",),
        gitlab=False,
        why_not=_CLI_ONLY,
    ),
    Case(
        "cli-id-token-flag",
        "unknown input names: `--id-token TOKEN` on the CLI (a variable only)",
        keyless(key_service=VAULT_KEY, vault_address=NO_VAULT, vault_role="qlik-main"),
        bad(None, "unrecognized arguments", "not shown"),
        cli_args=("--id-token", ID_TOKEN),
        gitlab=False,
        why_not=_CLI_ONLY,
    ),
]

CASES: tuple[Case, ...] = tuple(
    _GOOD + _REQUIRED + _TARGETS + _UNKNOWN_NAMES + _KEYS + _ALGORITHMS + _LIFETIMES + _CLAIMS
) + tuple(_HOSTILE + _OUTPUTS + _OAUTH + _CHECK + _KEYLESS)

BY_ID = {case.id: case for case in CASES}
assert len(BY_ID) == len(CASES), "case ids must be unique"

RUNNER_FILES = ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")
CLI_FILES = ("output", "dotenv", "dotenv-variable")
"""Pseudo-inputs: where files go. Not inputs of the action; the CLI's output options."""
KEY_SOURCES = ("private-key-file",)
"""A pseudo-input of the CLI: QSJWT_PRIVATE_KEY_FILE (the action has no such input)."""


def is_good(case: Case) -> bool:
    return case.expect.exit == 0


KEY_INPUTS = frozenset({"private-key", "private-key-passphrase", "certificate"})


def about_the_key(case: Case) -> bool:
    """Cases whose outcome can depend on how the key is encoded: good ones and key errors.

    The others fail on a setting before the key is read, so their per-process modes (each a
    Python start) run with the key in a file and in ``QSJWT_PRIVATE_KEY`` only.
    """
    return is_good(case) or case.expect.names in KEY_INPUTS or bool(case.cli_args)


def counts() -> dict[str, int]:
    bad_cases = [c for c in CASES if not is_good(c)]
    return {"cases": len(CASES), "bad": len(bad_cases), "good": len(CASES) - len(bad_cases)}
