"""The GitHub Action: ``INPUT_*`` variables in, a masked token out.

The only module that imports actions-toolkit, and only when ``GITHUB_ACTIONS`` is ``true``:
outside GitHub the toolkit prints outputs as ``::set-output`` lines, a token in clear text.

``run`` reads top to bottom, and its order is the point: mask the key material, mint (for the
``oauth`` target: sign the assertion and trade it for an access token), mask the token, and
only then print warnings and debug detail and write the outputs, ``GITHUB_ENV`` and the step
summary. Nothing but masks is printed before the token's mask, so no line can show a
value that is only masked later; if stdout cannot take a mask, no token is passed on. Every
failure is one ``::error`` naming the input as ``action.yml`` spells it, the ``error-code`` and
``error-input`` outputs, exit code 1, and no traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from qsjwt.app.target import parse_settings
from qsjwt.base.display import escape_controls, one_line
from qsjwt.base.errors import (
    InputError,
    KeyMaterialError,
    KeyServiceUnreachableError,
    MissingInputError,
    OutputError,
    QlikRefusedError,
    QlikUnreachableError,
    QsjwtError,
)
from qsjwt.base.findings import Finding
from qsjwt.base.formats import check_variable_name, iso_utc
from qsjwt.base.inputs import (
    CERTIFICATE,
    ID_TOKEN,
    INPUTS,
    KEY_SERVICE,
    PKCS11_PIN,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    VAULT_TOKEN,
    InputSpec,
    Target,
    parse_target,
)
from qsjwt.io.sources import KEY_LIMIT, PASSPHRASE_LIMIT, check_length, passphrase_from
from qsjwt.login.claims import new_jti
from qsjwt.login.mint import Minted, mint_from_text
from qsjwt.login.settings import CloudSettings, QseowSettings
from qsjwt.signing.keys import as_bytes, pem_from_text

if TYPE_CHECKING:
    from qsjwt.login.mint import Minted
    from qsjwt.oauth.assertion import OAuthSettings
    from qsjwt.signing.keys import LoadedKey

TARGET = "target"
EXPORT_ENV = "export-env"
BULK_USERS = "bulk-users"
BULK_FILE_LIMIT = 64 * 1024 * 1024
"""Bytes of a users file read at most: about half a million users."""

NOT_GITHUB = (
    "qs-jwt: this entrypoint is the GitHub Action and runs only where GITHUB_ACTIONS=true; "
    "no token was made. Elsewhere use the qs-jwt CLI, e.g. in GitLab CI set "
    '`entrypoint: [""]` and run `qs-jwt oauth ...`, `qs-jwt cloud ...` or `qs-jwt qseow ...` '
    "(see qs-jwt --help).\n"
)


@dataclass(frozen=True)
class ActionInput:
    """One input as ``action.yml`` declares it (``scripts/render_action.py`` renders the file)."""

    name: str
    description: str
    required: bool = False


_CLI_NOTE = re.compile(r"\s*\(a repeated --[a-z-]+ on the CLI\)")


def _from_spec(spec: InputSpec) -> ActionInput:
    text = _CLI_NOTE.sub("", spec.description)
    if spec.default and "default" not in text.lower():
        text += f" Default: {spec.default}."
    return ActionInput(spec.name, text)


ACTION_INPUTS: tuple[ActionInput, ...] = (
    ActionInput(
        TARGET,
        "Where the token is used: qseow (client-managed QSEoW), cloud (a Qlik Cloud JWT "
        "identity provider) or oauth (a Qlik Cloud OAuth access token, Private Key JWT).",
        True,
    ),
    ActionInput(
        PRIVATE_KEY,
        "Private key that signs the token, from a secret: PEM, PEM on one line with literal \\n "
        "escapes, or base64 of the PEM. RSA; Qlik Cloud also accepts EC (OAuth: P-384). "
        "Required unless key-service names a key held by a key service.",
    ),
    ActionInput(PRIVATE_KEY_PASSPHRASE, "Passphrase of an encrypted private key, from a secret."),
    ActionInput(
        CERTIFICATE,
        "Certificate configured in Qlik (PEM or base64); if given, the key must match it, "
        "checked before signing (qseow and cloud).",
    ),
    *(_from_spec(spec) for spec in INPUTS),
    ActionInput(
        VAULT_TOKEN,
        "Key service vault: a Vault token, from a secret, instead of logging in with the "
        "job's identity token (vault-role). Masked.",
    ),
    ActionInput(
        PKCS11_PIN,
        "Key service pkcs11: the token's user PIN, from a secret. Masked.",
    ),
    ActionInput(
        ID_TOKEN,
        "The CI's OIDC identity token, if a step already has one; by default it is requested "
        "from GitHub (the job needs permissions: id-token: write). Masked.",
    ),
    ActionInput(
        BULK_USERS,
        "Path of a CSV file (header row) or JSON Lines file of users for qseow or cloud, one "
        "per row with its per-user values (user-id, user-directory... or subject, name, "
        "email...); the other inputs are shared. A token for each goes to a 0600 file under "
        "RUNNER_TEMP, never to the log or the workspace: outputs bulk-file and bulk-count.",
    ),
    ActionInput(
        EXPORT_ENV,
        "Name of an environment variable that receives the token (oauth: the access token) for "
        "the later steps of this job (through GITHUB_ENV). Default: none; use the outputs.",
    ),
)

INTERNAL = "internal"
_FORESEEN = (
    MissingInputError,
    InputError,
    KeyMaterialError,
    OutputError,
    QlikRefusedError,
    QlikUnreachableError,
    KeyServiceUnreachableError,
)
ERROR_CODES = (*(cls.code for cls in _FORESEEN), INTERNAL)
"""What ``error-code`` can say: the failures ``qsjwt.base.errors`` foresees for this action, plus
``internal`` for everything else (a bug of ours). ``_error_code`` is the one mapping."""

OUTPUTS: dict[str, str] = {
    "token": "The signed JWT (oauth: only with assertion-only, the client assertion). Masked in "
    "logs. Use it in later steps of the same job: GitHub drops job outputs that contain a secret.",
    "access-token": "oauth: the access token Qlik issued, for Authorization: Bearer. Masked in "
    "logs, like the token.",
    "expires-at": "When the token (oauth: the access token) expires: ISO 8601 UTC, e.g. "
    "2026-01-31T12:00:00Z; empty if Qlik did not say.",
    "expires-in": "Lifetime in seconds: exp - iat of the token, or what Qlik gave for the access "
    "token.",
    "scope": "oauth: the scopes Qlik granted the access token, separated by spaces.",
    "bulk-file": "With bulk-users: the path of the JSON Lines file under RUNNER_TEMP (mode "
    "0600), one {user, token, expires_at} per user in input order.",
    "bulk-count": "With bulk-users: how many tokens the bulk-file holds.",
    "header": "The token's header as compact JSON (not set for an access token).",
    "claims": "The token's claims as compact JSON, no signature (not set for an access token).",
    "error-code": "Set only when the step fails: " + ", ".join(ERROR_CODES) + ". Never a value; "
    "read it with continue-on-error: true and steps.<id>.outputs.error-code.",
    "error-input": "Set only when the step fails because of one input: its name, as spelled here "
    "(e.g. expires-in). Never its value.",
}

_BY_VARIABLE = {"INPUT_" + item.name.upper(): item.name for item in ACTION_INPUTS}
_PEM_ARMOR = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]+-----")
_TARGET_LABEL = {
    Target.QSEOW: "QSEoW virtual proxy",
    Target.CLOUD: "Qlik Cloud",
    Target.OAUTH: "Qlik Cloud OAuth",
}

Command = Callable[[str, dict[str, str], str], None]
"""``actions_toolkit.command.issue_command``: ``::kind key=value::message``, escaped"""


class _LogGoneError(Exception):
    """stdout cannot take a line: a mask may not have reached the runner."""


@dataclass(frozen=True)
class Runner:
    """The GitHub runner's side: log commands through actions-toolkit, and its file format."""

    set_secret: Callable[[str], None]
    command: Command
    heredoc: Callable[[str, str], str]
    """``name<<DELIM`` / value / ``DELIM`` with a random delimiter"""
    debugging: bool


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the action; returns the exit code (0 made a token, 1 did not, 2 not on GitHub)."""
    environ = os.environ if env is None else env
    if environ.get("GITHUB_ACTIONS") != "true":
        with contextlib.suppress(OSError, AttributeError):
            sys.stderr.write(NOT_GITHUB)
            sys.stderr.flush()
        return 2
    # Imported here, not at the top: only on GitHub (see the module docstring).
    from actions_toolkit import core  # noqa: PLC0415
    from actions_toolkit.command import issue_command  # noqa: PLC0415
    from actions_toolkit.file_command import prepare_key_value_message  # noqa: PLC0415

    runner = Runner(
        core.set_secret,
        issue_command,
        prepare_key_value_message,
        debugging=environ.get("RUNNER_DEBUG") == "1",
    )
    return run(environ, runner)


def run(env: Mapping[str, str], runner: Runner) -> int:
    """The action, top to bottom; returns the exit code."""
    _utf8_stdout()
    values = {name: env.get(var, "") for var, name in _BY_VARIABLE.items()}
    step = _Step(env, runner)
    try:
        for fragment in _secret_fragments(values[PRIVATE_KEY], values[PRIVATE_KEY_PASSPHRASE]):
            step.mask(fragment)
        for secret in (VAULT_TOKEN, PKCS11_PIN, ID_TOKEN):  # the key services' credentials
            for line in values[secret].splitlines():
                if line.strip():
                    step.mask(line.strip())
        if values[BULK_USERS].strip():
            return _bulk(step, values)
        warned: tuple[Finding, ...] = ()
        try:
            target = parse_target(values[TARGET], input_name=TARGET)
            settings = parse_settings(target, {spec.name: values[spec.name] for spec in INPUTS})
            warned = settings.warnings
            export_name = _export_name(values[EXPORT_ENV])
            step.check_writable("GITHUB_OUTPUT", "the outputs")
            if export_name:
                step.check_writable("GITHUB_ENV", f"the {EXPORT_ENV} variable")
            made = _make(settings, values, env, step.mask)
        except QsjwtError as err:
            step.notes(values)
            for finding in warned:
                step.warn(finding)
            return step.failed(_error_code(err), err.input_name, _title(err), err.render())
        step.mask(made.secret)
        checked = ""
        if made.check is not None:
            try:
                checked = made.check(step.mask)
            except QsjwtError as err:
                step.notes(values)
                for finding in made.warnings:
                    step.warn(finding)
                return step.failed(_error_code(err), err.input_name, _title(err), err.render())
        step.notes(values)
        for finding in made.warnings:
            step.warn(finding)
        step.debug(f"target {target.value}, {made.debug}")
        summary = _summary(target, made)  # before the outputs: a bug here sets none
        step.append("GITHUB_OUTPUT", made.outputs)
        if export_name:
            step.append("GITHUB_ENV", {export_name: made.secret})
        step.summary(summary)
        exported = f"; also in ${export_name} for the next steps" if export_name else ""
        # No user value in a plain line: the runner reads "##[command]" anywhere in one.
        step.info(
            f"qs-jwt: {made.what}, expires at {made.outputs['expires-at'] or 'a time not given'} "
            f"(in {made.outputs['expires-in'] or '?'} s). Outputs: {', '.join(made.outputs)}"
            f"{exported}; details in the step summary."
        )
        if checked:
            step.info(f"qs-jwt: {escape_controls(checked)}")
    except _LogGoneError:
        return step.log_gone()
    except OutputError as err:
        return step.failed(
            _error_code(err), err.input_name, "Cannot write step outputs", err.render()
        )
    except Exception as err:  # a bug of ours: no traceback, which could carry a secret
        return step.failed(
            _error_code(err),
            None,
            "Internal error",
            f"qs-jwt failed unexpectedly ({type(err).__name__}); the step failed and its "
            "outputs are not set. Please report it at the project's issue tracker.",
        )
    return 0


def _bulk(step: _Step, values: Mapping[str, str]) -> int:
    """``bulk-users``: a token per user into a 0600 file under RUNNER_TEMP; the tokens are
    never printed (so none needs a mask), and the outputs hold the file's path and count."""
    import secrets  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from qsjwt.base.inputs import JWT_TARGETS  # noqa: PLC0415
    from qsjwt.io.files import PlannedFile, write_all  # noqa: PLC0415
    from qsjwt.io.sources import read_bounded  # noqa: PLC0415
    from qsjwt.login.bulk import USERS, KeyText, mint_bulk, read_rows, sniff_format  # noqa: PLC0415

    try:
        target = parse_target(values[TARGET], input_name=TARGET, allowed=JWT_TARGETS)
        step.check_writable("GITHUB_OUTPUT", "the outputs")
        temp = step.env.get("RUNNER_TEMP", "")
        if not temp or not os.path.isdir(temp):
            raise OutputError(
                "RUNNER_TEMP is not a directory, so the tokens have nowhere private to go",
                hint="run this action as a step of a GitHub Actions job",
            )
        raw_key, passphrase, _certificate = _key_material(values)
        data = read_bounded(
            values[BULK_USERS].strip(), BULK_FILE_LIMIT, input_name=BULK_USERS, secret_hint=None
        )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("is not UTF-8 text", input_name=BULK_USERS) from None
        lines = text.splitlines(keepends=True)
        rows = read_rows(lines, target, sniff_format(lines[0] if lines else ""))
        shared = {spec.name: values[spec.name] for spec in INPUTS if values[spec.name].strip()}
        result = mint_bulk(
            rows,
            target=target,
            shared=shared,
            key=KeyText(raw_key, passphrase),
            now=dt.datetime.now(dt.UTC),
        )
        path = Path(temp) / f"qs-jwt-bulk-{secrets.token_hex(8)}.jsonl"
        body = "".join(line + "\n" for line in result.lines).encode()
        write_all([PlannedFile(path, body, BULK_USERS, 0o600)])
    except QsjwtError as err:
        if err.input_name == USERS:  # the core's name for the users, the action's input here
            err.input_name = BULK_USERS
        step.notes(values)
        return step.failed(_error_code(err), err.input_name, _title(err), err.render())
    step.notes(values)
    for finding in result.warnings:
        step.warn(finding)
    step.append("GITHUB_OUTPUT", {"bulk-file": str(path), "bulk-count": str(result.count)})
    step.summary(
        f"## Qlik Sense JWT\n\n{result.count} {_TARGET_LABEL[target]} token(s), one per user, "
        "in the `bulk-file` output's file (mode 0600, under RUNNER_TEMP); never shown.\n"
    )
    step.info(
        f"qs-jwt: minted {result.count} {_TARGET_LABEL[target]} token(s) into a 0600 file "
        "under RUNNER_TEMP. Outputs: bulk-file, bulk-count."
    )
    return 0


def _utf8_stdout() -> None:
    """The runner reads UTF-8 whatever PYTHONIOENCODING says; what UTF-8 cannot hold (bytes
    that were not UTF-8) is escaped, never a crash."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(OSError, ValueError):
            reconfigure(encoding="utf-8", errors="backslashreplace")


def _export_name(text: str) -> str | None:
    name = text.strip()
    if name:
        check_variable_name(name, input_name=EXPORT_ENV, example="QLIK_JWT")
    return name or None


@dataclass(frozen=True)
class _Made:
    """What one run made, as the step reports it: ``secret`` is masked before anything else."""

    secret: str
    outputs: dict[str, str]
    warnings: tuple[Finding, ...]
    what: str
    """the log line's start, e.g. "minted a Qlik Cloud token (RS256)": never a user value"""
    debug: str
    rows: list[tuple[str, str]]
    """the summary's rows after the target, values already rendered by ``_code``"""
    claims: Mapping[str, Any] | None = None
    check: Callable[[Callable[[str], None]], str] | None = None
    """``check`` asked for: proves the token at Qlik (masking each probe token it makes with
    the callable it is given first) and returns the line to log; raises when Qlik refuses"""


def _make(
    settings: QseowSettings | CloudSettings | OAuthSettings,
    values: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    mask: Callable[[str], None] = lambda _value: None,
) -> _Made:
    """Mint the token, or for oauth the assertion or the access token Qlik trades it for.
    With ``key-service`` the key service signs; ``mask`` sees each credential it needs first."""
    remote = _remote_key(values, env or {}, mask)
    raw_key, passphrase, certificate = _key_material(values, remote=remote is not None)
    if isinstance(settings, QseowSettings | CloudSettings):
        jwt_settings = settings

        def mint_one() -> Minted:
            now, jti = dt.datetime.now(dt.UTC), new_jti()
            if remote is not None:
                return _mint_remote(jwt_settings, remote, certificate, now, jti)
            return mint_from_text(
                jwt_settings,
                private_key=raw_key,
                passphrase=passphrase,
                certificate=certificate,
                now=now,
                jti=jti,
            )

        minted = mint_one()
        made = _signed(
            minted.token,
            minted.header,
            minted.claims,
            minted.expires_at,
            warnings=minted.warnings,
            what=f"minted a {_TARGET_LABEL[settings.target]} token",
            rows=_rows(settings),
        )
        if settings.check is None:
            return made

        def check(mask: Callable[[str], None]) -> str:
            def probe() -> str:
                token = mint_one().token
                mask(token)
                return token

            return _prove(jwt_settings, minted.token, probe)

        return replace(made, check=check)
    return _oauth(settings, raw_key, passphrase, remote)


def _prove(
    settings: QseowSettings | CloudSettings | OAuthSettings,
    token: str,
    make_probe: Callable[[], str],
) -> str:
    from qsjwt.app.check import describe, prove  # noqa: PLC0415 (HTTP only for check)

    return describe(prove(settings, token, make_probe))


def _remote_key(
    values: Mapping[str, str], env: Mapping[str, str], mask: Callable[[str], None]
) -> LoadedKey | None:
    if not values.get(KEY_SERVICE, "").strip():
        return None
    if values[PRIVATE_KEY].strip():
        raise InputError(
            "and private-key are both given",
            input_name=KEY_SERVICE,
            hint="sign with one: drop the private-key input, or key-service",
        )
    from qsjwt.signing.remote import Secrets  # noqa: PLC0415 (only for a remote key)
    from qsjwt.signing.remote.registry import remote_key_from

    secrets = Secrets(
        vault_token=values[VAULT_TOKEN].strip() or None,
        pkcs11_pin=values[PKCS11_PIN].strip() or None,
        id_token=values[ID_TOKEN].strip() or None,
    )
    return remote_key_from(values, secrets, ci_env=env, on_secret=mask)


def _mint_remote(
    settings: QseowSettings | CloudSettings,
    key: LoadedKey,
    certificate: str | None,
    now: dt.datetime,
    jti: str,
) -> Minted:
    from qsjwt.login.mint import mint  # noqa: PLC0415
    from qsjwt.signing.keys import load_certificates  # noqa: PLC0415

    chain = load_certificates(certificate, input_name=CERTIFICATE) if certificate else []
    return mint(settings, key, now=now, jti=jti, certificates=chain)


def _oauth(
    settings: OAuthSettings,
    raw_key: str,
    passphrase: str | bytes | None,
    remote: LoadedKey | None = None,
) -> _Made:
    from qsjwt.oauth.assertion import assertion_header, build_assertion, load_oauth_key  # noqa: PLC0415
    from qsjwt.oauth.assertion import new_jti as new_uuid  # noqa: PLC0415

    key = remote or load_oauth_key(settings, raw_key, passphrase)
    header = assertion_header(settings, key)
    rows = [
        ("Tenant", _code(settings.tenant)),
        ("Client id", _code(settings.client_id)),
        ("Grant", _code(settings.grant.value)),
    ]
    if settings.user_lookup:
        rows.append(("User", _code(f"{settings.user_lookup.field}={settings.user_lookup.value}")))
    rows.append(("Key id", _code(header["kid"])))
    warnings = settings.warnings + key.warnings
    if settings.assertion_only:
        now = dt.datetime.now(dt.UTC)
        assertion = build_assertion(settings, key, now=now, jti=new_uuid())
        return _signed(
            assertion.token,
            assertion.header,
            assertion.claims,
            assertion.expires_at,
            warnings=warnings,
            what="signed a Qlik Cloud OAuth client assertion",
            rows=rows,
        )
    from qsjwt.oauth.exchange import obtain_access_token  # noqa: PLC0415 (HTTP only for oauth)

    access = obtain_access_token(settings, key)
    expires_at = iso_utc(access.expires_at) if access.expires_at else ""
    expires_in = "" if access.expires_in is None else str(access.expires_in)
    rows += [
        ("Algorithm", _code(header["alg"])),
        ("Scope", _code(access.scope) if access.scope else "(the client's)"),
        ("Expires at", f"{expires_at or 'not given'} (in {expires_in or '?'} s)"),
    ]
    token = access.access_token
    return _Made(
        check=(lambda _mask: _prove(settings, token, lambda: token)) if settings.check else None,
        secret=access.access_token,
        outputs={
            "access-token": access.access_token,
            "expires-at": expires_at,
            "expires-in": expires_in,
            "scope": access.scope or "",
        },
        warnings=warnings,
        what=f"Qlik issued an access token ({header['alg']} assertion, "
        f"{access.attempts} request(s))",
        debug=f"algorithm {header['alg']}, grant {settings.grant.value}, attempts "
        f"{access.attempts}, clock difference {access.clock_skew} s",
        rows=rows,
    )


def _signed(
    token: str,
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    expires_at: dt.datetime,
    *,
    warnings: tuple[Finding, ...],
    what: str,
    rows: list[tuple[str, str]],
) -> _Made:
    """A signed JWT (a token, or an OAuth assertion) as the step reports it."""
    lifetime = claims["exp"] - claims["iat"]
    return _Made(
        secret=token,
        outputs={
            "token": token,
            "expires-at": iso_utc(expires_at),
            "expires-in": str(lifetime),
            "header": _compact(header),
            "claims": _compact(claims),
        },
        warnings=warnings,
        what=f"{what} ({header['alg']})",
        debug=f"algorithm {header['alg']}, lifetime {lifetime} s, header fields "
        f"{', '.join(header)}, claims {', '.join(claims)}",
        rows=[
            *rows,
            ("Algorithm", _code(header["alg"])),
            ("Expires at", f"{iso_utc(expires_at)} (in {lifetime} s)"),
        ],
        claims=claims,
    )


def _key_material(
    values: Mapping[str, str], *, remote: bool = False
) -> tuple[str, str | bytes | None, str | None]:
    """The key, its passphrase and the certificate as given, each checked for presence and
    size (never for content: that is the core's). With a ``remote`` key no private key."""
    raw_key = values[PRIVATE_KEY]
    if not raw_key.strip() and not remote:
        raise MissingInputError(
            "is required and was empty or not given",
            input_name=PRIVATE_KEY,
            hint="pass it from a secret, e.g. "
            "private-key: ${{ secrets.QLIK_JWT_PRIVATE_KEY }} (secrets are empty in "
            "workflows run from forks and by Dependabot), or name a key held by a key "
            "service in key-service (docs/keyless-vault.md)",
        )
    check_length(raw_key, KEY_LIMIT, input_name=PRIVATE_KEY)
    check_length(values[CERTIFICATE], KEY_LIMIT, input_name=CERTIFICATE)
    check_length(
        values[PRIVATE_KEY_PASSPHRASE], PASSPHRASE_LIMIT, input_name=PRIVATE_KEY_PASSPHRASE
    )
    passphrase = passphrase_from(values[PRIVATE_KEY_PASSPHRASE])
    return raw_key, passphrase or None, values[CERTIFICATE].strip() or None


class _Step:
    """What one run prints and writes, each line flushed at once."""

    def __init__(self, env: Mapping[str, str], runner: Runner) -> None:
        self.env = env
        self.runner = runner

    def _print(self, emit: Callable[[], object]) -> None:
        try:
            emit()
            sys.stdout.flush()
        except (OSError, ValueError, AttributeError) as err:  # closed, full, or no stdout
            raise _LogGoneError from err

    def mask(self, value: str) -> None:
        if value.strip():
            # Bytes that are not UTF-8 arrive as surrogate escapes, which stdout cannot write.
            secret = as_bytes(value).decode("utf-8", "replace")
            self._print(lambda: self.runner.set_secret(secret))

    def annotate(self, kind: str, title: str, message: str) -> None:
        # The toolkit escapes only % CR LF: an ESC or "##[" (read anywhere) is ours to escape.
        text = escape_controls(message)
        self._print(lambda: self.runner.command(kind, {"title": escape_controls(title)}, text))

    def warn(self, finding: Finding) -> None:
        title = f"Check {finding.subject}" if finding.subject else "qs-jwt warning"
        self.annotate("warning", title, finding.render())

    def debug(self, message: str) -> None:
        if self.runner.debugging:
            self._print(lambda: self.runner.command("debug", {}, escape_controls(message)))

    def info(self, message: str) -> None:
        self._print(lambda: sys.stdout.write(message + "\n"))

    def notes(self, values: Mapping[str, str]) -> None:
        """What was given, after the masks: unknown input names, and (debug) which inputs."""
        unknown = sorted(
            var for var in self.env if var.startswith("INPUT_") and var not in _BY_VARIABLE
        )
        if unknown:
            described = []
            for var in unknown:
                name = var.removeprefix("INPUT_").lower()
                guess = name.replace("_", "-")
                known = "INPUT_" + guess.upper() in _BY_VARIABLE
                described.append(one_line(name) + (f" (did you mean {guess}?)" if known else ""))
            valid = ", ".join(item.name for item in ACTION_INPUTS)
            self.annotate(
                "warning",
                "Unknown input",
                f"Unexpected input(s) {', '.join(described)} are ignored; valid inputs are: "
                f"{valid}",
            )
        given = [item.name for item in ACTION_INPUTS if values[item.name].strip()]
        self.debug("inputs given: " + (", ".join(given) or "none"))
        if values[PRIVATE_KEY].strip():
            self.debug(f"private-key given as {_key_format(values[PRIVATE_KEY])}")

    def check_writable(self, variable: str, what: str) -> None:
        """Fail before signing when a file command cannot be written, so no token is wasted."""
        path = self.env.get(variable, "")
        if not path:
            raise OutputError(
                f"{variable} is not set, so {what} cannot be written",
                hint="run this action as a step of a GitHub Actions job; "
                "elsewhere use the qs-jwt CLI",
            )
        try:
            with open(path, "a", encoding="utf-8"):
                pass
        except OSError as err:
            raise OutputError(
                f"{variable} ({one_line(path)}) cannot be written: {err.strerror}",
                hint="the runner provides this file; check the job's container and mounts",
            ) from None

    def append(self, variable: str, pairs: Mapping[str, str]) -> None:
        path = self.env.get(variable, "")
        text = "".join(
            str(self.runner.heredoc(name, value)) + "\n" for name, value in pairs.items()
        )
        try:
            with open(path, "a", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except OSError as err:
            raise OutputError(
                f"{variable} ({one_line(path)}) cannot be written: {err.strerror}; "
                "the token was not passed on"
            ) from None

    def summary(self, markdown: str) -> None:
        """The summary is a courtesy: a failure to write it is a warning, not a failed step."""
        path = self.env.get("GITHUB_STEP_SUMMARY", "")
        if not path:
            self.debug("GITHUB_STEP_SUMMARY is not set: no step summary")
            return
        try:
            with open(path, "a", encoding="utf-8", newline="") as handle:
                handle.write(markdown)
        except OSError as err:
            self.annotate("warning", "No step summary", f"GITHUB_STEP_SUMMARY: {err.strerror}")

    def failed(self, code: str, input_name: str | None, title: str, message: str) -> int:
        """One ``::error`` and the error outputs (never a value); exit code 1."""
        failure = {"error-code": code}
        if input_name:
            failure["error-input"] = input_name
        with contextlib.suppress(OutputError, OSError):
            self.append("GITHUB_OUTPUT", failure)
        try:
            self.annotate("error", title, message)
        except _LogGoneError:
            return self.log_gone()
        return 1

    def log_gone(self) -> int:
        """stdout is closed or full: stop, pass nothing on, and say so where it can be said."""
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stdout = sys.stdout.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, stdout)  # what Python flushes at exit goes nowhere: a quiet exit
            os.close(null)
        with contextlib.suppress(OutputError, OSError):
            self.append("GITHUB_OUTPUT", {"error-code": OutputError.code})
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(
                "qs-jwt: error: the log (stdout) cannot be written, so a mask may not have "
                "reached the runner; no token was passed on\n"
            )
            sys.stderr.flush()
        return 1


def _secret_fragments(raw_key: str, passphrase: str) -> list[str]:
    """What to mask: each line of the key as given and as decoded, and the passphrase.

    The ``-----BEGIN/END ...-----`` lines are not secret; masking them would only garble
    unrelated log lines (for example a certificate printed by a later step).
    """
    lines = raw_key.splitlines()
    if raw_key.strip():
        with contextlib.suppress(QsjwtError):  # not a key at all: its raw lines are masked
            lines += (
                pem_from_text(raw_key, input_name=PRIVATE_KEY)
                .decode("utf-8", "replace")
                .splitlines()
            )
    fragments = [line.strip() for line in lines]
    fragments = [f for f in fragments if f and not _PEM_ARMOR.fullmatch(f)]
    fragments += [line.strip() for line in passphrase.splitlines()]
    return [f for f in dict.fromkeys(fragments) if f]


def _key_format(raw: str) -> str:
    """How the key text was encoded (not its content), for debug logs."""
    text = raw.strip()
    if "-----BEGIN" not in text:
        return "base64 (no PEM header)"
    return "PEM with \\n escapes" if "\n" not in text and "\\n" in text else "PEM"


def _error_code(err: Exception) -> str:
    """The ``error-code`` output: the class of a failure the action foresees, else internal
    (a core error no input can cause, such as the signer's last guard, is a bug too)."""
    code = err.code if isinstance(err, QsjwtError) else INTERNAL
    return code if code in ERROR_CODES else INTERNAL


def _title(err: QsjwtError) -> str:
    if isinstance(err, OutputError):
        return "Cannot write step outputs"
    if isinstance(err, InputError) and err.code == "invalid-key":
        return f"Unusable {err.input_name or 'key material'}"
    if isinstance(err, InputError):
        return f"Invalid input {err.input_name}" if err.input_name else "Invalid input"
    return "No token was made"


def _compact(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _rows(settings: QseowSettings | CloudSettings) -> list[tuple[str, str]]:
    """Who a QSEoW or Qlik Cloud token is for, as summary rows."""
    if isinstance(settings, QseowSettings):
        return [("User", _code(f"{settings.user_directory}\\{settings.user_id}"))]
    return [
        ("Subject", _code(settings.subject)),
        ("User", f"{_code(settings.name)} {_code(settings.email)}"),
        ("Issuer", _code(settings.issuer)),
        ("Key id", _code(settings.key_id)),
    ]


def _code(text: str) -> str:
    """A value for the summary's table, as inline code: no @mention, link, image, HTML or
    emphasis can come out of it, its ``|`` cannot split the table's cell, and a character that
    is not printable (a line break, a bidi override) shows as its escape."""
    text = escape_controls(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def _summary(target: Target, made: _Made) -> str:
    """Markdown for the run's page: what was made for whom, never the token."""
    rows = [("Target", f"{_TARGET_LABEL[target]} ({_code(target.value)})"), *made.rows]
    lines = ["## Qlik Sense JWT", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines += [""]
    if made.claims is not None:
        claims = json.dumps(made.claims, indent=2, ensure_ascii=False)
        if not claims.replace("\n", "").isprintable():  # e.g. a bidi override reordering a line
            claims = json.dumps(made.claims, indent=2)  # the same JSON, non-ASCII as \u escapes
        fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", claims)), default=0) + 1)
        lines += [
            "Claims (the token itself is in the `token` output and is never shown):",
            "",
            fence + "json",
            claims,
            fence,
            "",
        ]
    else:
        lines += ["The access token is in the `access-token` output and is never shown.", ""]
    if made.warnings:
        lines += ["Warnings:", ""]
        lines += [f"- {_code(finding.render())}" for finding in made.warnings]
        lines += [""]
    return "\n".join(lines) + "\n"
