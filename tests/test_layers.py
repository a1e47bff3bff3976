"""The package's shape (docs/architecture.md): the import contracts, no import circle, the
modules that one mint loads, and the pre-commit hooks that run the same checks.

``make test`` runs the contracts as its own step (``make imports``); these tests run them again
so that ``pytest`` alone enforces them too.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, ForwardRef

import grimp
import pytest
import yaml

from tests.conftest import KeyPair

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONTRACTS: list[dict[str, Any]] = PYPROJECT["tool"]["importlinter"]["contracts"]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


# --- the import contracts ----------------------------------------------------------------------


def test_every_contract_has_an_id_and_none_ignores_an_import() -> None:
    """An exception to a contract is a decision: it is written next to the contract with its
    reason, and this list names it. None is taken today."""
    documented_exceptions: dict[str, set[str]] = {}
    ids = [contract.get("id") for contract in CONTRACTS]
    assert all(ids), "every contract needs an id (make imports and this file name them by it)"
    assert len(set(ids)) == len(ids)
    ignored = {
        contract["id"]: set(contract["ignore_imports"])
        for contract in CONTRACTS
        if contract.get("ignore_imports")
    }
    assert ignored == documented_exceptions


def test_the_layers_contract_names_every_layer_in_order() -> None:
    """The picture in docs/architecture.md, highest first; ``exhaustive`` makes a new
    top-level module or subpackage choose its layer."""
    (layers,) = [contract for contract in CONTRACTS if contract["id"] == "layers"]
    assert layers["containers"] == ["qsjwt"]
    assert layers["exhaustive"] is True
    assert layers["layers"] == [
        "__main__",
        "cli | action | api",
        "app",
        "login | oauth",
        "signing",
        "net",
        "io",
        "base",
        "_version",
    ]


@pytest.mark.parametrize("contract", [c["id"] for c in CONTRACTS])
def test_import_contract_is_kept(contract: str) -> None:
    """``lint-imports`` for one contract; its report says which import breaks it and where."""
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--contract", contract],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    report = done.stdout.split("Broken contracts", 1)[-1].strip("-\n ")
    assert done.returncode == 0, f"contract {contract!r} is broken:\n{report}\n{done.stderr}"


def test_no_import_circle() -> None:
    """No module of qsjwt reaches itself through its imports, including the ones inside
    functions and under TYPE_CHECKING (import-linter's acyclic contract looks only between
    siblings; a package's ``__init__`` and its own modules are checked here)."""
    graph = grimp.build_graph("qsjwt")
    circles: set[tuple[str, ...]] = set()
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                circle = (importer, *back)
                start = circle.index(min(circle[:-1]))
                circles.add(circle[start:-1] + circle[:start] + (circle[start],))
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in sorted(circles))


# --- the mint path -----------------------------------------------------------------------------

# Every qsjwt module that one cold `python -m qsjwt qseow ...` imports, sorted. A change that
# adds or drops one updates this list on purpose (and docs/performance.md's cold start, if it
# moves: make bench).
MINT_PATH_MODULES = [
    "qsjwt",
    "qsjwt._version",
    "qsjwt.app",
    "qsjwt.app.flow",
    "qsjwt.app.target",
    "qsjwt.base",
    "qsjwt.base.display",
    "qsjwt.base.durations",
    "qsjwt.base.errors",
    "qsjwt.base.findings",
    "qsjwt.base.formats",
    "qsjwt.base.inputs",
    "qsjwt.base.rules",
    "qsjwt.base.secret",
    "qsjwt.base.values",
    "qsjwt.cli",
    "qsjwt.cli.commands",
    "qsjwt.cli.gather",
    "qsjwt.cli.out",
    "qsjwt.cli.parser",
    "qsjwt.io",
    "qsjwt.io.sources",
    "qsjwt.login",
    "qsjwt.login.claims",
    "qsjwt.login.lint",
    "qsjwt.login.mint",
    "qsjwt.login.settings",
    "qsjwt.signing",
    "qsjwt.signing.algorithms",
    "qsjwt.signing.jws",
    "qsjwt.signing.keys",
]

# What a mint must never load (each with its submodules): the HTTP and TLS stack, event loops,
# threads and processes, mail parsing, logging; PyJWT and X.509 (a certificate input loads
# x509, a bare key does not); argparse and its gettext (a plain command line is read by
# cli.parser.Quick); datetime (the core's times are seconds, as a JWT writes them).
NOT_ON_THE_MINT_PATH = [
    "argparse",
    "asyncio",
    "concurrent",
    "cryptography.x509",
    "datetime",
    "email",
    "gettext",
    "http",
    "jwt",
    "logging",
    "multiprocessing",
    "socket",
    "ssl",
    "subprocess",
    "threading",
    "urllib.request",
]


def imported_by_a_mint(key: Path, tmp_path: Path) -> list[str]:
    """Every module that ``python -X importtime -m qsjwt qseow`` imported, in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSJWT_", "PYTHON"))}
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "qsjwt",
            "qseow",
            "--user-id",
            "alice",
            "--user-directory",
            "CORP",
            "--private-key-file",
            str(key),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count(".") == 2, "the token, and only the token, on stdout"
    # "import time: self [us] | cumulative | imported package", one line per first import
    return [
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and not line.endswith("imported package")
    ]


def test_the_mint_path_imports_only_the_listed_modules(rsa_pair: KeyPair, tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(rsa_pair.private_pem)
    loaded = imported_by_a_mint(key, tmp_path)
    ours = sorted({name for name in loaded if name == "qsjwt" or name.startswith("qsjwt.")})
    added = sorted(set(ours) - set(MINT_PATH_MODULES))
    removed = sorted(set(MINT_PATH_MODULES) - set(ours))
    assert ours == MINT_PATH_MODULES, (
        "the mint path's qsjwt modules changed; if on purpose, update MINT_PATH_MODULES in "
        f"tests/test_layers.py.\n  added:   {added}\n  removed: {removed}"
    )
    heavy = sorted(
        name
        for name in set(loaded)
        for banned in NOT_ON_THE_MINT_PATH
        if name == banned or name.startswith(banned + ".")
    )
    assert heavy == [], f"a mint loads modules it must not: {heavy}"


def test_the_mint_path_lists_are_sorted_and_unique() -> None:
    for names in (MINT_PATH_MODULES, NOT_ON_THE_MINT_PATH):
        assert names == sorted(set(names))


# --- pre-commit -------------------------------------------------------------------------------


def test_pre_commit_hooks_are_local_and_run_the_projects_own_tools() -> None:
    """No hook repository is fetched: every hook runs a tool from the project's .venv, with the
    versions requirements/dev.txt locks."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    repos = config["repos"]
    assert [repo["repo"] for repo in repos] == ["local"] * len(repos)
    hooks = [hook for repo in repos for hook in repo["hooks"]]
    assert {hook["language"] for hook in hooks} == {"system"}
    assert all(hook["entry"].startswith(".venv/bin/") for hook in hooks)
    for hook in hooks:
        tool = hook["entry"].split()[0].removeprefix(".venv/bin/")
        assert tool in {"ruff", "mypy", "lint-imports"}, hook["id"]
    entries = {hook["entry"] for hook in hooks}
    assert ".venv/bin/ruff check" in entries
    assert ".venv/bin/ruff format --check" in entries
    assert any(entry.startswith(".venv/bin/mypy --strict") for entry in entries)
    assert ".venv/bin/lint-imports --no-cache" in entries


def test_the_mint_path_s_named_tuples_have_real_annotations() -> None:
    """A string annotation costs a ``compile`` per field at every start (docs/performance.md):
    only the fields whose types are imported for type checking alone may be strings."""
    quoted: dict[str, list[str]] = {}
    for name in MINT_PATH_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, tuple) and value.__module__ == name:
                forward = [f for f, t in value.__annotations__.items() if isinstance(t, ForwardRef)]
                if forward:
                    quoted[f"{name}.{value.__name__}"] = forward
    assert quoted == {
        "qsjwt.app.flow.KeySource": ["certificates"],
        "qsjwt.app.flow.Request": ["settings", "now", "record"],
        "qsjwt.app.flow.Issued": ["assertion", "access"],
        "qsjwt.login.settings.QseowSettings": ["check"],
        "qsjwt.login.settings.CloudSettings": ["check"],
    }
