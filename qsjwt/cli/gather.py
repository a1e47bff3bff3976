"""Where each value comes from on the command line: a flag, else its ``QSJWT_*`` variable.

``spelled`` says, before anything is read, how the user gave each input, so that every
message names it the way it was typed (``--user-id``, ``QSJWT_USER_ID``...). The readers
after it bound every value and never show one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING

from qsjwt.app.flow import Credentials, KeySource
from qsjwt.base.errors import InputError
from qsjwt.base.formats import check_variable_name
from qsjwt.base.inputs import (
    BY_NAME,
    CA_BUNDLE,
    CERTIFICATE,
    CHECK,
    INSECURE,
    KEY_SERVICE,
    KEY_SERVICE_INPUTS,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    Target,
    inputs_for,
)
from qsjwt.base.values import RawValue
from qsjwt.io.sources import (
    KEY_LIMIT,
    PASSPHRASE_LIMIT,
    check_length,
    passphrase_from,
    read_bounded,
)

ENV_PRIVATE_KEY = "QSJWT_PRIVATE_KEY"
ENV_PRIVATE_KEY_FILE = "QSJWT_PRIVATE_KEY_FILE"
ENV_PASSPHRASE = "QSJWT_PRIVATE_KEY_PASSPHRASE"  # noqa: S105 (a variable name)
ENV_CERTIFICATE = "QSJWT_CERTIFICATE"
ENV_CERTIFICATE_FILE = "QSJWT_CERTIFICATE_FILE"
ENV_TOKEN = "QSJWT_TOKEN"  # noqa: S105 (a variable name)
ENV_TOKEN_FILE = "QSJWT_TOKEN_FILE"  # noqa: S105 (a variable name)
ASSERTION = "assertion-only"
DOTENV_DEFAULT = "QLIK_JWT"
ACCESS_DOTENV_DEFAULT = "QLIK_ACCESS_TOKEN"
if TYPE_CHECKING:
    from qsjwt.io.files import PlannedFile

STDIO = "-"
"""``--output -`` is standard output, as without ``--output``; ``TOKEN`` ``-`` is stdin."""
STDOUT_NAMES = (STDIO, "/dev/stdout")
"""What ``--output`` takes for standard output (``/dev/stdout`` is a symbolic link, which no
secret file is written through: it is the stream itself here)."""

ENV_VAULT_TOKEN = "QSJWT_VAULT_TOKEN"  # noqa: S105 (a variable name)
ENV_PKCS11_PIN = "QSJWT_PKCS11_PIN"
ENV_ID_TOKEN = "QSJWT_ID_TOKEN"  # noqa: S105 (a variable name)
VAULT_CLI_TOKEN = "VAULT_TOKEN"  # noqa: S105 (a variable name)
CREDENTIAL_VARIABLES = (
    f"{ENV_VAULT_TOKEN} (else {VAULT_CLI_TOKEN})",
    ENV_PKCS11_PIN,
    f"{ENV_ID_TOKEN} (else the CI's own identity token)",
)
"""The key services' credentials, which come from variables only, as help names them."""
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""Read for ``ca-bundle`` after ``QSJWT_CA_BUNDLE``, as Python's and curl's tools do."""
VAULT_VARIABLES = {
    "vault-address": "VAULT_ADDR",
    "vault-namespace": "VAULT_NAMESPACE",
    "key-service-ca-bundle": "VAULT_CACERT",
}
"""The vault CLI's variables (``vault login``, hashicorp/vault-action), read after qs-jwt's own
for a ``vault:`` key only."""
ECOSYSTEM = {"ca-bundle": CA_BUNDLE_VARIABLES} | {k: (v,) for k, v in VAULT_VARIABLES.items()}
"""Each input's other variables, in the order they are read, for help and messages."""


def spelled(
    args: SimpleNamespace, env: Mapping[str, str], options: Mapping[str, str]
) -> dict[str, str]:
    """How each input of this command was given, for messages: ``options`` maps an input
    name to its flag; a value from a variable is named by the variable."""
    names = dict(options)
    names |= {
        "vault-token": _first((ENV_VAULT_TOKEN, env.get(ENV_VAULT_TOKEN)))
        or _first((VAULT_CLI_TOKEN, env.get(VAULT_CLI_TOKEN)))
        or f"{ENV_VAULT_TOKEN} (or {VAULT_CLI_TOKEN})",
        "pkcs11-pin": ENV_PKCS11_PIN,
        "id-token": ENV_ID_TOKEN,
        "private-key": "--private-key-file (or QSJWT_PRIVATE_KEY_FILE, QSJWT_PRIVATE_KEY)",
        "private-key-passphrase": f"--passphrase-file (or {ENV_PASSPHRASE})",
        "token": "TOKEN",
        "export-env": "--dotenv-variable",
    }
    target: Target | None = getattr(args, "target", None)
    specs = inputs_for(target) if isinstance(target, Target) else ()
    if not isinstance(target, Target) and hasattr(args, KEY_SERVICE):
        specs = tuple(BY_NAME[name] for name in KEY_SERVICE_INPUTS)
    for spec in specs:
        if getattr(args, spec.name, None) is not None:
            continue
        other = [v for v in ECOSYSTEM.get(spec.name, ()) if env.get(v)]
        if env.get(spec.env_var):
            names[spec.name] = spec.env_var
        elif other:
            names[spec.name] = other[0]
        elif spec.cli_flag in names.values():
            names[spec.name] = f"{spec.cli_flag} (or {spec.env_var})"
        else:
            names[spec.name] = spec.env_var
    if hasattr(args, "private_key_file"):
        names[PRIVATE_KEY] = (
            _first(
                ("--private-key-file", args.private_key_file),
                (ENV_PRIVATE_KEY_FILE, env.get(ENV_PRIVATE_KEY_FILE)),
                (ENV_PRIVATE_KEY, env.get(ENV_PRIVATE_KEY)),
            )
            or "--private-key-file (or QSJWT_PRIVATE_KEY_FILE, QSJWT_PRIVATE_KEY)"
        )
        names[PRIVATE_KEY_PASSPHRASE] = (
            _first(
                ("--passphrase-file", args.passphrase_file),
                (ENV_PASSPHRASE, env.get(ENV_PASSPHRASE)),
            )
            or f"--passphrase-file (or {ENV_PASSPHRASE})"
        )
    if hasattr(args, "url"):
        names["token"] = (
            _first(
                ("--token-file", args.token_file),
                (ENV_TOKEN_FILE, env.get(ENV_TOKEN_FILE)),
                (ENV_TOKEN, env.get(ENV_TOKEN)),
            )
            or f"--token-file (or {ENV_TOKEN_FILE}, {ENV_TOKEN})"
        )
        names["url"] = "URL"
        variables = ("QSJWT_CA_BUNDLE", *CA_BUNDLE_VARIABLES)
        if not args.ca_bundle:
            names[CA_BUNDLE] = _first(*((v, env.get(v)) for v in variables)) or "--ca-bundle"
    elif hasattr(args, "token_file"):
        from_file = args.token_file or (args.token is None and env.get(ENV_TOKEN_FILE))
        names["token"] = (
            _first(("--token-file", args.token_file), (ENV_TOKEN_FILE, env.get(ENV_TOKEN_FILE)))
            if from_file
            else "TOKEN"
            if args.token not in (None, STDIO)
            else "standard input"
        ) or "TOKEN"
    if hasattr(args, "certificate_file"):
        names[CERTIFICATE] = (
            _first(
                ("--public-key-file", getattr(args, "public_key_file", None)),
                ("--certificate-file", args.certificate_file),
                (ENV_CERTIFICATE_FILE, env.get(ENV_CERTIFICATE_FILE)),
                (ENV_CERTIFICATE, env.get(ENV_CERTIFICATE)),
            )
            or "--certificate-file"
        )
    return names


def _first(*candidates: tuple[str, str | None]) -> str | None:
    return next((name for name, value in candidates if value), None)


def settings_values(
    args: SimpleNamespace, env: Mapping[str, str], target: Target
) -> dict[str, RawValue]:
    """Each setting from its flag, else its variable; an empty variable is not given."""
    values: dict[str, RawValue] = {}
    for spec in inputs_for(target):
        flag_value = getattr(args, spec.name, None)
        if flag_value is not None:
            values[spec.name] = flag_value
        elif env.get(spec.env_var):
            values[spec.name] = env[spec.env_var]
    return with_vault_variables(values, env)


def with_ca_variables(values: dict[str, RawValue], env: Mapping[str, str], target: Target) -> None:
    """``ca-bundle`` from ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` when qs-jwt calls Qlik
    and neither a CA bundle nor ``insecure`` was given (a machine-wide setting is no request
    to check a token at Qlik, so it is read only when Qlik is called anyway)."""
    others = _others(CA_BUNDLE, env)
    if not others or CA_BUNDLE in values or INSECURE in values:
        return
    if _true(values.get(CHECK)) or (target is Target.OAUTH and not _true(values.get(ASSERTION))):
        values[CA_BUNDLE] = others[0]


def _true(value: RawValue | None) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1")


def ca_bundle_variable(env: Mapping[str, str]) -> str:
    """The CA bundle a variable names: ``QSJWT_CA_BUNDLE``, else Python's and curl's."""
    return next((v for v in [env.get("QSJWT_CA_BUNDLE", ""), *_others(CA_BUNDLE, env)] if v), "")


def _others(input_name: str, env: Mapping[str, str]) -> list[str]:
    """The values of an input's other variables (``ECOSYSTEM``) that are set, in order."""
    return [env[name] for name in ECOSYSTEM.get(input_name, ()) if env.get(name)]


def with_vault_variables(
    values: Mapping[str, RawValue], env: Mapping[str, str]
) -> dict[str, RawValue]:
    """``values`` with the vault CLI's variables for what a ``vault:`` key was not given."""
    reference = values.get(KEY_SERVICE)
    filled = dict(values)
    if isinstance(reference, str) and reference.strip().startswith("vault:"):
        for name in VAULT_VARIABLES:
            others = _others(name, env)
            if others and not filled.get(name):
                filled[name] = others[0]
    return filled


def key_service_values(args: SimpleNamespace, env: Mapping[str, str]) -> dict[str, str]:
    """``key-service`` and its back end's inputs for a command that is not a mint (keygen,
    jwk): each from its flag, else its variable."""
    values: dict[str, RawValue] = {}
    for name in KEY_SERVICE_INPUTS:
        given = getattr(args, name, None) or env.get(BY_NAME[name].env_var)
        if given:
            values[name] = str(given)
    return {n: str(v) for n, v in with_vault_variables(values, env).items()}


def key_source(
    args: SimpleNamespace, env: Mapping[str, str], values: Mapping[str, object]
) -> KeySource:
    """The key as the command line gives it: a file or variable, or a key service named by the
    ``key-service`` inputs in ``values`` (its secrets from variables only: a flag would show in
    ``ps``). The use case refuses a private key and a key service given together."""
    service = {n: str(v) for n, v in values.items() if n in KEY_SERVICE_INPUTS and v}
    key_given = bool(
        getattr(args, "private_key_file", None)
        or env.get(ENV_PRIVATE_KEY)
        or env.get(ENV_PRIVATE_KEY_FILE)
    )
    vault = service.get(KEY_SERVICE, "").strip().startswith("vault:")
    credentials = Credentials(
        vault_token=env.get(ENV_VAULT_TOKEN) or (vault and env.get(VAULT_CLI_TOKEN)) or None,
        pkcs11_pin=env.get(ENV_PKCS11_PIN) or None,
        id_token=env.get(ENV_ID_TOKEN) or None,
    )
    certificate_text = certificate(getattr(args, "certificate_file", None), env)
    if service.get(KEY_SERVICE, "").strip() and not key_given:
        return KeySource(certificate=certificate_text, service=service, credentials=credentials)
    private_key, passphrase = _key_material(args, env)
    return KeySource(
        private_key=private_key,
        passphrase=passphrase,
        certificate=certificate_text,
        service=service,
        credentials=credentials,
    )


def _key_material(
    args: SimpleNamespace, env: Mapping[str, str]
) -> tuple[str | bytes, str | bytes | None]:
    """The key and its passphrase, from files or variables, each bounded."""
    key_flag = getattr(args, "private_key_file", None)
    passphrase_flag = getattr(args, "passphrase_file", None)
    if not key_flag and env.get(ENV_PRIVATE_KEY) and env.get(ENV_PRIVATE_KEY_FILE):
        raise InputError(
            f"both {ENV_PRIVATE_KEY} and {ENV_PRIVATE_KEY_FILE} are set",
            input_name=PRIVATE_KEY,
            hint="keep one key source",
        )
    key_file = key_flag or env.get(ENV_PRIVATE_KEY_FILE)
    if not key_file and not env.get(ENV_PRIVATE_KEY):
        raise InputError(
            f"no private key: give --private-key-file PATH, or set {ENV_PRIVATE_KEY_FILE} "
            f"(a path) or {ENV_PRIVATE_KEY} (the key text)",
            input_name=None,
        )
    private_key = _text_or_file(key_file, env.get(ENV_PRIVATE_KEY, ""), PRIVATE_KEY, KEY_LIMIT)
    passphrase: str | bytes | None = None
    if passphrase_flag:
        raw = read_bounded(
            passphrase_flag,
            PASSPHRASE_LIMIT,
            input_name=PRIVATE_KEY_PASSPHRASE,
            secret_hint=ENV_PASSPHRASE,
        )
        passphrase = passphrase_from(raw)
    elif env.get(ENV_PASSPHRASE):
        check_length(env[ENV_PASSPHRASE], PASSPHRASE_LIMIT, input_name=PRIVATE_KEY_PASSPHRASE)
        passphrase = passphrase_from(env[ENV_PASSPHRASE])
    return private_key, passphrase


def certificate(flag_path: str | None, env: Mapping[str, str]) -> bytes | str | None:
    """The certificate from ``--certificate-file``, else its variables; None if none given."""
    path = flag_path or env.get(ENV_CERTIFICATE_FILE)
    if not path and not env.get(ENV_CERTIFICATE):
        return None
    return _text_or_file(path or None, env.get(ENV_CERTIFICATE, ""), CERTIFICATE, KEY_LIMIT)


_TEXT_VARIABLE = {PRIVATE_KEY: ENV_PRIVATE_KEY, CERTIFICATE: ENV_CERTIFICATE}


def _text_or_file(path: str | None, text: str, input_name: str, limit: int) -> str | bytes:
    """The file at ``path`` when one is given, else the variable's text; both bounded."""
    if path is not None:
        return read_bounded(
            path, limit, input_name=input_name, secret_hint=_TEXT_VARIABLE[input_name]
        )
    check_length(text, limit, input_name=input_name)
    return text


def output_path(given: str | None) -> str | None:
    """``--output``'s file, or None for standard output (no ``--output``, ``-``, /dev/stdout)."""
    return None if given in STDOUT_NAMES else given


def planned_outputs(args: SimpleNamespace, env: Mapping[str, str]) -> list[PlannedFile]:
    """The output files, each checked before the token is made: never over an input file."""
    output = output_path(args.output)
    if output is None and args.dotenv is None:
        if args.dotenv_variable is not None:
            raise InputError("only applies with --dotenv FILE", input_name="dotenv-variable")
        return []  # standard output: qsjwt.io.files (and pathlib) are not even imported
    from pathlib import Path  # noqa: PLC0415

    from qsjwt.io.files import PlannedFile, check_writable  # noqa: PLC0415

    planned = []
    if output is not None:
        planned.append(PlannedFile(Path(output), b"", "output"))
    if args.dotenv_variable is not None and args.dotenv is None:
        raise InputError("only applies with --dotenv FILE", input_name="dotenv-variable")
    if args.dotenv is not None:
        variable = args.dotenv_variable or DOTENV_DEFAULT
        check_variable_name(variable, input_name="dotenv-variable", example=DOTENV_DEFAULT)
        if args.dotenv == STDIO:
            raise InputError("must be a file, not standard output", input_name="dotenv")
        planned.append(
            PlannedFile(Path(args.dotenv), b"", "dotenv", replaces_lines=f"{variable}=".encode())
        )
    inputs = (
        ("--private-key-file", args.private_key_file),
        ("--passphrase-file", args.passphrase_file),
        ("--certificate-file", getattr(args, "certificate_file", None)),
        ("--ca-bundle", getattr(args, CA_BUNDLE, None)),
        (ENV_PRIVATE_KEY_FILE, env.get(ENV_PRIVATE_KEY_FILE)),
        (ENV_CERTIFICATE_FILE, env.get(ENV_CERTIFICATE_FILE)),
        ("QSJWT_CA_BUNDLE", env.get("QSJWT_CA_BUNDLE")),
    )
    reads = [(name, path) for name, path in inputs if path]
    for index, file in enumerate(planned):
        earlier = [(f"--{p.input_name}", os.fspath(p.path)) for p in planned[:index]]
        check_writable(file, reads=reads + earlier)
    return planned


def stdin_bytes(limit: int, *, input_name: str) -> bytes:
    """At most ``limit`` bytes of standard input, refused when it is a terminal."""
    if sys.stdin is None or sys.stdin.isatty():
        raise InputError("- reads standard input, which is a terminal", input_name=input_name)
    data = sys.stdin.buffer.read(limit + 1)
    check_length(data, limit, input_name=input_name)
    return data


def call_reads(args: SimpleNamespace, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """The files ``call`` reads, which its ``--output`` must not replace."""
    inputs = (
        ("--token-file", args.token_file),
        (ENV_TOKEN_FILE, env.get(ENV_TOKEN_FILE)),
        ("--data-file", args.data_file if args.data_file != STDIO else None),
        ("--ca-bundle", args.ca_bundle),
        ("QSJWT_CA_BUNDLE", env.get("QSJWT_CA_BUNDLE")),
    )
    return [(name, path) for name, path in inputs if path]
