# Plain entry points. Each target sets up what it needs: a fresh machine needs only Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint types imports unit security bench lock clean completions

LOCKS := requirements/dev.txt requirements/ci-tools.txt
# the demo needs only what qs-jwt needs at run time (PyJWT, cryptography): its own small venv
DEMO_VENV  := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed

$(STAMP): requirements/pip.txt $(LOCKS) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/pip.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes $(LOCKS:%=-r %)
	$(PYTHON) scripts/set_version.py --record-commit >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# qs-jwt itself from this checkout through a .pth file and a two-line qs-jwt script: no build
# back end to fetch, so the demo needs nothing but requirements/runtime.txt
$(DEMO_STAMP): requirements/pip.txt requirements/runtime.txt
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/pip.txt
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/runtime.txt
	$(PYTHON) scripts/set_version.py --record-commit >/dev/null
	$(DEMO_VENV)/bin/python -c 'import site, sys; open(site.getsitepackages()[0] + "/qs-jwt-checkout.pth", "w").write(sys.argv[1] + "\n")' "$(CURDIR)"
	printf '#!/bin/sh\nexec "%s" -m qsjwt "$$@"\n' "$(abspath $(DEMO_VENV))/bin/python" > $(DEMO_VENV)/bin/qs-jwt
	chmod +x $(DEMO_VENV)/bin/qs-jwt
	touch $(DEMO_STAMP)

## demo: mint a QSEoW and a Qlik Cloud token and an OAuth assertion with a throw-away key, decode and verify them (a small venv of the runtime dependencies only, .venv-demo)
demo: $(DEMO_STAMP)
	PATH="$(abspath $(DEMO_VENV)/bin):$$PATH" sh scripts/demo.sh

## completions: regenerate the shell completion scripts in completions/ from the parser
completions: $(STAMP)
	$(BIN)/python scripts/completions.py --write

## test: lint, format check, strict types, the import contracts, bandit, then the whole test suite
test: lint types imports security unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy --strict qsjwt
	$(BIN)/mypy --strict tests scripts benchmarks

## imports: the layer contracts of pyproject.toml's [tool.importlinter] (docs/architecture.md)
imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

## security: bandit over the shipped code, from its own hash-locked venv (.venv-security)
security:
	PYTHON=$(PYTHON) bash scripts/security-scan.sh

unit: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: docs/performance.md's numbers, each as a ratio measured in the same run (cold start of
## the installed console script against a bare signer, Node jsonwebtoken and Node qs-jwt 1.14.1;
## bulk against openssl speed, Minter per token, the image; the single-file executable against
## the one-folder build and python -m qsjwt)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cold.py
	$(BIN)/python benchmarks/bench_bulk.py
	$(BIN)/python benchmarks/bench_minter.py
	$(BIN)/python benchmarks/bench_mint.py
	$(BIN)/python benchmarks/bench_image.py
	$(BIN)/python benchmarks/bench_binary.py

## lock: refresh the hash-locked requirement files from requirements/*.in
lock:
	$(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet uv
	cd requirements && ../.venv-lock/bin/uv pip compile --python-version 3.11 --generate-hashes --no-header -q runtime.in -o runtime.txt
	cd requirements && ../.venv-lock/bin/uv pip compile --python-version 3.11 --generate-hashes --no-header -q dev.in -o dev.txt
	cd requirements && ../.venv-lock/bin/uv pip compile --python-version 3.11 --generate-hashes --no-header -q -c dev.txt ci-tools.in -o ci-tools.txt
	cd requirements && ../.venv-lock/bin/uv pip compile --python-version 3.11 --generate-hashes --no-header -q -c dev.txt security.in -o security.txt
	cd requirements && ../.venv-lock/bin/uv pip compile --python-version 3.11 --generate-hashes --no-header -q -c dev.txt release.in -o release.txt
	cd requirements && ../.venv-lock/bin/uv pip compile --universal --python-version 3.11 --generate-hashes --no-header -q -c dev.txt binary.in -o binary.txt
	cd requirements && ../.venv-lock/bin/uv pip compile --python-version 3.13 --generate-hashes --no-header --no-deps -q -c dev.txt action.in -o action.txt
	cd requirements && ../.venv-lock/bin/uv pip compile --python-version 3.13 --generate-hashes --no-header -q -c dev.txt extra-pkcs11.in -o extra-pkcs11.txt
	cd requirements && ../.venv-lock/bin/uv pip compile --python-version 3.13 --generate-hashes --no-header -q -c dev.txt extra-aws.in -o extra-aws.txt

clean:
	rm -rf $(VENV) $(DEMO_VENV) .venv-lock .venv-security .venv-binary .pytest_cache .mypy_cache .ruff_cache build *.egg-info
