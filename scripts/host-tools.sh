#!/usr/bin/env bash
# The host programs the test suite calls, and the Debian package that brings each.
#   scripts/host-tools.sh check     print the missing commands (one a line); exit 1 if any
#   scripts/host-tools.sh install   apt-get install the packages of the missing ones (root)
# .ci/run calls `install`, so a machine that has never run the tests gets every tool;
# tests/container/conftest.py calls `check` first and names what is missing, never a skip.
set -euo pipefail

# command package   (what needs it)
TOOLS='
dockerd docker.io         container tests: the private engine (scripts/docker-engine.sh)
docker docker.io          container tests: the client
debootstrap debootstrap   container tests: the local base image when no registry answers
rsync rsync               gitlab-ci-local copies the project into its job directories
git git                   act and gitlab-ci-local read the repository
node nodejs               gitlab-ci-local runs on Node.js
npm npm                   installs the pinned gitlab-ci-local (tests/container/gitlab-ci-local)
make make                 the README test command; node-gyp builds re2 for gitlab-ci-local
g++ g++                   node-gyp builds re2 for gitlab-ci-local
openssl openssl           scripts/demo.sh and the workflow run steps
softhsm2-util softhsm2    keyless tests: a real PKCS#11 token (tests/keyless_rigs.py)
objdump binutils          single-file executable: PyInstaller reads shared libraries with it (scripts/build-binary.sh)
strip binutils            single-file executable: PyInstaller --strip on Linux (scripts/build-binary.sh)
ldd libc-bin              single-file executable: PyInstaller finds shared libraries with it
unshare util-linux        transport tests: a mount namespace with its own resolv.conf and hosts (tests/net)
mount mount               transport tests: bind-mounts them there
'

missing() {
  local cmd pkg rest
  while read -r cmd pkg rest; do
    [ -n "$cmd" ] || continue
    command -v "$cmd" >/dev/null 2>&1 || echo "$cmd $pkg"
  done <<<"$TOOLS"
}

case "${1:-check}" in
  check)
    out=$(missing)
    [ -z "$out" ] && exit 0
    echo "$out" | cut -d' ' -f1
    exit 1
    ;;
  install)
    out=$(missing)
    [ -z "$out" ] && exit 0
    pkgs=$(echo "$out" | cut -d' ' -f2 | sort -u | tr '\n' ' ')
    if [ "$(id -u)" -ne 0 ]; then
      echo "host-tools: missing $(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')- install: $pkgs" >&2
      exit 1
    fi
    echo "host-tools: installing $pkgs" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086  # one word a package
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
    out=$(missing)
    if [ -n "$out" ]; then
      echo "host-tools: still missing after apt-get: $(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 check|install" >&2
    exit 2
    ;;
esac
