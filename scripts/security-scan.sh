#!/usr/bin/env bash
# Static security analysis of the code that ships: bandit over qsjwt/ and entrypoint.py, at every
# severity and confidence, with the settings in bandit.yaml. bandit comes from the hash-locked
# requirements/security.txt, in its own virtual environment (.venv-security, or $SECURITY_VENV),
# so it never mixes with the project's dev dependencies. Exit 0 only when bandit finds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${SECURITY_VENV:-.venv-security}
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/bandit" ] || [ requirements/security.txt -nt "$venv/.installed" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r requirements/pip.txt
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r requirements/security.txt
  touch "$venv/.installed"
fi
"$venv/bin/bandit" --version | head -n 1
"$venv/bin/bandit" -c bandit.yaml -r qsjwt entrypoint.py \
  --severity-level all --confidence-level all --quiet
echo "security-scan: bandit found nothing in qsjwt/ and entrypoint.py"
