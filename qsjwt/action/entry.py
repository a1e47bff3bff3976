"""The GitHub Action: ``INPUT_*`` variables in, a masked token out.

``run`` reads top to bottom, and its order is the point: mask the key material, issue the token
through the shared use case (``qsjwt.app.flow``: for the ``oauth`` target, sign the assertion
and trade it for an access token), which hands every credential and token to the mask first,
and only then print warnings and debug detail and write the outputs, ``GITHUB_ENV`` and the
step summary. Nothing but masks is printed before the token's mask, so no line can show a
value that is only masked later; if stdout cannot take a mask, no token is passed on. Every
failure is one ``::error`` naming the input as ``action.yml`` spells it, the ``error-code`` and
``error-input`` outputs, exit code 1, and no traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from qsjwt.action.report import Report, report, rows_for, summary
from qsjwt.action.runner import LogGoneError, Runner, Step, github_runner, utf8_stdout
from qsjwt.action.schema import (
    BULK_USERS,
    BY_VARIABLE,
    ERROR_CODES,
    EXPORT_ENV,
    INTERNAL,
    TARGET,
    TARGET_LABEL,
)
from qsjwt.app.flow import (
    Credentials,
    KeySource,
    Request,
    check_asked,
    issue,
    prove,
    secret_fragments,
)
from qsjwt.app.target import parse_settings
from qsjwt.base.display import escape_controls
from qsjwt.base.errors import InputError, MissingInputError, OutputError, QsjwtError
from qsjwt.base.findings import Finding
from qsjwt.base.formats import check_variable_name
from qsjwt.base.inputs import (
    CERTIFICATE,
    ID_TOKEN,
    INPUTS,
    KEY_SERVICE,
    KEY_SERVICE_INPUTS,
    PKCS11_PIN,
    PRIVATE_KEY,
    PRIVATE_KEY_PASSPHRASE,
    RECORD,
    VAULT_TOKEN,
    Target,
    parse_target,
)
from qsjwt.io.sources import KEY_LIMIT, PASSPHRASE_LIMIT, check_length, passphrase_from

if TYPE_CHECKING:
    from qsjwt.app.flow import Recorder

NOT_GITHUB = (
    "qs-jwt: this entrypoint is the GitHub Action and runs only where GITHUB_ACTIONS=true; "
    "no token was made. Elsewhere use the qs-jwt CLI, e.g. in GitLab CI set "
    '`entrypoint: [""]` and run `qs-jwt oauth ...`, `qs-jwt cloud ...` or `qs-jwt qseow ...` '
    "(see qs-jwt --help).\n"
)


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the action; returns the exit code (0 made a token, 1 did not, 2 not on GitHub)."""
    environ = os.environ if env is None else env
    if environ.get("GITHUB_ACTIONS") != "true":
        with contextlib.suppress(OSError, AttributeError):
            sys.stderr.write(NOT_GITHUB)
            sys.stderr.flush()
        return 2
    return run(environ, github_runner(environ))


def run(env: Mapping[str, str], runner: Runner) -> int:
    """The action, top to bottom; returns the exit code."""
    utf8_stdout()
    values = {name: env.get(var, "") for var, name in BY_VARIABLE.items()}
    step = Step(env, runner)
    try:
        for fragment in secret_fragments(values[PRIVATE_KEY], values[PRIVATE_KEY_PASSPHRASE]):
            step.mask(fragment)
        for secret in (VAULT_TOKEN, PKCS11_PIN, ID_TOKEN):  # the key services' credentials
            step.mask(values[secret])  # each line too
        if values[BULK_USERS].strip():
            return _bulk(step, values)
        warned: tuple[Finding, ...] = ()
        record: Recorder | None = None
        try:
            target = parse_target(values[TARGET], input_name=TARGET)
            settings = parse_settings(target, {spec.name: values[spec.name] for spec in INPUTS})
            warned = settings.warnings
            export_name = _export_name(values[EXPORT_ENV])
            step.check_writable("GITHUB_OUTPUT", "the outputs")
            if export_name:
                step.check_writable("GITHUB_ENV", f"the {EXPORT_ENV} variable")
            record = _recorder(values, target.value, step.env)
            request = Request(
                settings, _key_source(values), ci_env=env, on_secret=step.mask, record=record
            )
            issued = issue(request)  # the token is masked inside, before it returns
            made = report(issued, rows_for(settings, issued.key_id))
            step.mask(made.secret)  # already masked by the flow; a second mask costs nothing
            warned = made.warnings
            checked = prove(request, issued) if check_asked(settings) else ""
        except QsjwtError as err:
            step.notes(values)
            for finding in warned:
                step.warn(finding)
            if record is not None and record.exchanges:  # what Qlik answered, for a report
                step.append("GITHUB_OUTPUT", {"record-path": str(record.path)})
            return step.failed(error_code(err), err.input_name, _title(err), err.render())
        _deliver(
            step, values=values, target=target, made=made, export_name=export_name, record=record
        )
        if checked:
            step.info(f"qs-jwt: {escape_controls(checked)}")
    except LogGoneError:
        return step.log_gone()
    except OutputError as err:
        return step.failed(
            error_code(err), err.input_name, "Cannot write step outputs", err.render()
        )
    except Exception as err:  # a bug of ours: no traceback, which could carry a secret
        return step.failed(
            error_code(err),
            None,
            "Internal error",
            f"qs-jwt failed unexpectedly ({type(err).__name__}); the step failed and its "
            "outputs are not set. Please report it at the project's issue tracker.",
        )
    return 0


def _deliver(
    step: Step,
    *,
    values: Mapping[str, str],
    target: Target,
    made: Report,
    export_name: str | None,
    record: Recorder | None,
) -> None:
    """After every mask: warnings, debug, the outputs, ``GITHUB_ENV``, the summary, one line."""
    step.notes(values)
    for finding in made.warnings:
        step.warn(finding)
    step.debug(f"target {target.value}, {made.debug}")
    text = summary(target, made)  # before the outputs: a bug here sets none
    outputs = made.outputs
    if record is not None:
        outputs = {**outputs, "record-path": str(record.path)}
    step.append("GITHUB_OUTPUT", outputs)
    if export_name:
        step.append("GITHUB_ENV", {export_name: made.secret})
    step.summary(text)
    exported = f"; also in ${export_name} for the next steps" if export_name else ""
    # No user value in a plain line: the runner reads "##[command]" anywhere in one.
    step.info(
        f"qs-jwt: {made.what}, expires at {made.outputs['expires-at'] or 'a time not given'} "
        f"(in {made.outputs['expires-in'] or '?'} s). Outputs: {', '.join(made.outputs)}"
        f"{exported}; details in the step summary."
    )


def _recorder(values: Mapping[str, str], command: str, env: Mapping[str, str]) -> Recorder | None:
    """The transcript the ``record`` input asks for: a file of that name under RUNNER_TEMP."""
    if not values[RECORD].strip():
        return None
    from qsjwt.net.record import open_recorder  # noqa: PLC0415 (only with record)

    temp = env.get("RUNNER_TEMP", "")
    if not temp or not os.path.isdir(temp):
        raise OutputError(
            "RUNNER_TEMP is not a directory, so the transcript has nowhere to go",
            hint="run this action as a step of a GitHub Actions job",
        )
    return open_recorder(values, command=command, under=temp)


def _key_source(values: Mapping[str, str]) -> KeySource:
    """The key as the inputs give it: text from the secrets, or a key service's reference."""
    remote = bool(values[KEY_SERVICE].strip())
    raw_key, passphrase, certificate = _key_material(values, remote=remote)
    return KeySource(
        private_key=raw_key if raw_key.strip() else None,
        passphrase=passphrase,
        certificate=certificate,
        service={name: values[name] for name in KEY_SERVICE_INPUTS},
        credentials=Credentials(
            vault_token=values[VAULT_TOKEN].strip() or None,
            pkcs11_pin=values[PKCS11_PIN].strip() or None,
            id_token=values[ID_TOKEN].strip() or None,
        ),
    )


def _bulk(step: Step, values: Mapping[str, str]) -> int:
    """``bulk-users``: a token per user into a 0600 file under RUNNER_TEMP; the tokens are
    never printed (so none needs a mask), and the outputs hold the file's path and count."""
    import secrets  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from qsjwt.app.bulk import USERS, USERS_LIMIT, Users, issue_bulk  # noqa: PLC0415
    from qsjwt.base.inputs import JWT_TARGETS  # noqa: PLC0415
    from qsjwt.io.files import PlannedFile, write_all  # noqa: PLC0415
    from qsjwt.io.sources import read_bounded  # noqa: PLC0415

    try:
        target = parse_target(values[TARGET], input_name=TARGET, allowed=JWT_TARGETS)
        step.check_writable("GITHUB_OUTPUT", "the outputs")
        temp = step.env.get("RUNNER_TEMP", "")
        if not temp or not os.path.isdir(temp):
            raise OutputError(
                "RUNNER_TEMP is not a directory, so the tokens have nowhere private to go",
                hint="run this action as a step of a GitHub Actions job",
            )
        raw_key, passphrase, certificate = _key_material(values)
        data = read_bounded(
            values[BULK_USERS].strip(), USERS_LIMIT, input_name=BULK_USERS, secret_hint=None
        )
        shared = {spec.name: values[spec.name] for spec in INPUTS if values[spec.name].strip()}
        key = KeySource(private_key=raw_key, passphrase=passphrase, certificate=certificate)
        result, found = issue_bulk(target, Users(data), shared, key)
        path = Path(temp) / f"qs-jwt-bulk-{secrets.token_hex(8)}.jsonl"
        body = "".join(line + "\n" for line in result.lines).encode()
        write_all([PlannedFile(path, body, BULK_USERS, 0o600)])
    except QsjwtError as err:
        if err.input_name == USERS:  # the core's name for the users, the action's input here
            err.input_name = BULK_USERS
        step.notes(values)
        return step.failed(error_code(err), err.input_name, _title(err), err.render())
    step.notes(values)
    for finding in (*found, *result.warnings):
        step.warn(finding)
    step.append("GITHUB_OUTPUT", {"bulk-file": str(path), "bulk-count": str(result.count)})
    step.summary(
        f"## Qlik Sense JWT\n\n{result.count} {TARGET_LABEL[target]} token(s), one per user, "
        "in the `bulk-file` output's file (mode 0600, under RUNNER_TEMP); never shown.\n"
    )
    step.info(
        f"qs-jwt: minted {result.count} {TARGET_LABEL[target]} token(s) into a 0600 file "
        "under RUNNER_TEMP. Outputs: bulk-file, bulk-count."
    )
    return 0


def _export_name(text: str) -> str | None:
    name = text.strip()
    if name.lower() in ("true", "false", "yes", "no", "on", "off"):  # vault-action's habit
        raise InputError(
            "is the name of a variable, not a switch",
            input_name=EXPORT_ENV,
            hint="e.g. export-env: QLIK_JWT; leave it empty to export nothing",
        )
    if name:
        check_variable_name(name, input_name=EXPORT_ENV, example="QLIK_JWT")
    return name or None


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


def error_code(err: Exception) -> str:
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
