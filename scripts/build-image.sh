#!/usr/bin/env bash
# Build the qs-jwt action image on a host that may have no container registry (air-gapped build
# hosts, locked-down CI). With a registry, a plain `docker build .` is all you need.
#
#   scripts/build-image.sh [--tag TAG] [--ca-dir DIR] [--suite SUITE] [--context DIR]
#                          [--index-url URL] [--version VERSION] [--no-pull] [--rebuild-base]
#                          [--quiet] [--print-dockerfile]
#
#   --tag TAG        name of the image to build (default qs-jwt-action:local)
#   --ca-dir DIR     directory of extra CA certificates (*.crt) for a TLS-intercepting proxy on
#                    the way to PyPI (e.g. /usr/local/share/ca-certificates)
#   --suite SUITE    Debian suite for a locally built base (default trixie: Python 3.13)
#   --context DIR    build context holding the Dockerfile (default: this repository)
#   --index-url URL  a PyPI mirror for the image's pip install (the lock's hashes still apply)
#   --version VER    the qs-jwt version to stamp (build arg QSJWT_VERSION; default unreleased)
#   --no-pull        never try a registry for the base image
#   --rebuild-base   rebuild the local stand-in base even if an image of that name exists
#   --quiet          pass -q to docker build (debootstrap always logs to a file)
#   --print-dockerfile  print the Dockerfile that would be built and exit (needs no engine)
#
# It needs a reachable Docker engine (DOCKER_HOST, or the default socket); on a machine without
# one, scripts/docker-engine.sh starts a private engine. Steps:
#   1. The base image BASE_IMAGE (default: the Dockerfile's `FROM ... AS base` without its
#      digest, e.g. python:3.13-slim) is used if it is present locally,
#      otherwise pulled if a registry answers. If neither works, a stand-in is built from
#      Debian's own packages: `debootstrap --variant=minbase SUITE` + `docker import` gives
#      debian-local:SUITE, then python3, pip, venv and ca-certificates on top, tagged BASE_IMAGE.
#      Needs root, debootstrap and the Debian mirror (DEBIAN_MIRROR, default deb.debian.org).
#   2. The repository's Dockerfile with --network host (engines without a bridge network need
#      it for pip). Its one pinned line `FROM python:X@sha256:... AS base` names a digest, which
#      never matches a local image: unless BASE_IMAGE is that very reference, the build uses a
#      copy of the Dockerfile (in QSJWT_BUILD_WORK) whose base line names BASE_IMAGE instead;
#      every other line is the Dockerfile's own.
# The debootstrap root filesystem is cached in QSJWT_BUILD_WORK (default /tmp/qsjwt-build).
# Progress and timing laps go to stderr; the image name is the only line printed on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tag=qs-jwt-action:local
ca_dir=
suite=trixie
context=$(cd "$here/.." && pwd)
index_url=
pull=1
rebuild_base=0
quiet=0
version=
print_dockerfile=0
work=${QSJWT_BUILD_WORK:-/tmp/qsjwt-build}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

usage() {
  sed -n '5,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --ca-dir) ca_dir=${2:?--ca-dir needs a value}; shift 2 ;;
    --suite) suite=${2:?--suite needs a value}; shift 2 ;;
    --context) context=${2:?--context needs a value}; shift 2 ;;
    --index-url) index_url=${2:?--index-url needs a value}; shift 2 ;;
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --print-dockerfile) print_dockerfile=1; shift ;;
    --no-pull) pull=0; shift ;;
    --rebuild-base) rebuild_base=1; shift ;;
    --quiet | -q) quiet=1; shift ;;
    -h | --help) usage ;;
    *) echo "build-image: unknown argument: $1" >&2; usage ;;
  esac
done

t0=$EPOCHREALTIME
lap() {
  local now=$EPOCHREALTIME
  # EPOCHREALTIME is "seconds.microseconds"; print elapsed seconds with one decimal.
  local us=$(( (${now//[.,]/} - ${t0//[.,]/}) / 100000 ))
  printf 'build-image: [%d.%d s] %s\n' $((us / 10)) $((us % 10)) "$*" >&2
}
die() { echo "build-image: error: $*" >&2; exit 1; }

qflag=()
[ "$quiet" -eq 1 ] && qflag=(-q)

[ -f "$context/Dockerfile" ] || die "no Dockerfile in $context"

# The pinned base (the one literal FROM that Dependabot updates) and the Dockerfile to build.
pinned=$(sed -n 's/^FROM \([^ ]*@sha256:[0-9a-f]\{64\}\) AS base$/\1/p' "$context/Dockerfile")
[ -n "$pinned" ] && [ "$(printf '%s\n' "$pinned" | wc -l)" -eq 1 ] ||
  die "the Dockerfile needs exactly one line 'FROM image@sha256:<64 hex> AS base'"
base_image=${BASE_IMAGE:-${pinned%@*}}
dockerfile=$context/Dockerfile
local_dockerfile() {
  # the Dockerfile with its base line naming $base_image (awk: no regex metacharacters in play)
  awk -v pinned="FROM $pinned AS base" -v local="FROM $base_image AS base" \
    '$0 == pinned { print local; next } { print }' "$context/Dockerfile"
}
if [ "$print_dockerfile" -eq 1 ]; then
  if [ "$base_image" = "$pinned" ]; then cat "$context/Dockerfile"; else local_dockerfile; fi
  exit 0
fi
if [ -n "$ca_dir" ]; then
  [ -d "$ca_dir" ] || die "--ca-dir $ca_dir is not a directory"
  ca_dir=$(cd "$ca_dir" && pwd)
fi
docker info >/dev/null 2>&1 ||
  die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); start one with: scripts/docker-engine.sh start DIR"
mkdir -p "$work"
lap "engine reachable; base image $base_image, target $tag"

# Copies the *.crt files of --ca-dir into directory $1 (which must exist); prints their number.
copy_cas() {
  local n=0 f
  if [ -n "$ca_dir" ]; then
    for f in "$ca_dir"/*.crt; do
      [ -e "$f" ] || continue
      cp "$f" "$1/"
      n=$((n + 1))
    done
  fi
  echo "$n"
}

build_local_base() {
  local rootfs="$work/rootfs-$suite" ctx="$work/standin-$suite" n pyver
  if [ "$rebuild_base" -eq 1 ] || ! docker image inspect "debian-local:$suite" >/dev/null 2>&1; then
    if [ ! -e "$rootfs.ok" ]; then
      [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (or provide $base_image yourself)"
      command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (apt-get install debootstrap)"
      rm -rf "$rootfs"
      lap "debootstrap --variant=minbase $suite from $mirror (log: $work/debootstrap-$suite.log)"
      if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap-$suite.log" 2>&1; then
        tail -n 20 "$work/debootstrap-$suite.log" >&2
        die "debootstrap failed"
      fi
      touch "$rootfs.ok"
    fi
    tar -C "$rootfs" --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' \
      -c . | docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["bash"]' - "debian-local:$suite" >/dev/null
    lap "imported debian-local:$suite"
  fi

  rm -rf "$ctx"
  mkdir -p "$ctx/extra-ca"
  n=$(copy_cas "$ctx/extra-ca")
  cat >"$ctx/Dockerfile" <<DOCKERFILE
# Stand-in for $base_image, made by scripts/build-image.sh from Debian $suite packages.
FROM debian-local:$suite
ENV LANG=C.UTF-8
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      ca-certificates python3 python3-pip python3-venv \\
 && update-ca-certificates \\
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \\
 && ln -sf /usr/bin/python3 /usr/local/bin/python \\
 && ln -sf /usr/bin/pip3 /usr/local/bin/pip \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
LABEL io.github.qs-jwt.stand-in="debian-$suite"
CMD ["python3"]
DOCKERFILE
  docker build "${qflag[@]}" --network host -t "$base_image" "$ctx" >&2
  rm -rf "$ctx/extra-ca"
  pyver=$(docker run --rm --network none --entrypoint python "$base_image" \
    -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  lap "stand-in $base_image built (Debian $suite, Python $pyver, $n extra CA certificate(s))"
  case "$base_image" in
    python:"$pyver"[.-]* | python:"$pyver") ;;
    python:*) echo "build-image: warning: $base_image stand-in has Python $pyver (choose --suite)" >&2 ;;
  esac
}

# 1. the base image
standin=0
if [ "$rebuild_base" -eq 0 ] && docker image inspect "$base_image" >/dev/null 2>&1; then
  if [ -n "$(docker image inspect -f '{{index .Config.Labels "io.github.qs-jwt.stand-in"}}' "$base_image" 2>/dev/null)" ]; then
    standin=1
  fi
  lap "base $base_image present locally$([ "$standin" -eq 1 ] && echo ' (stand-in)')"
elif [ "$rebuild_base" -eq 0 ] && [ "$pull" -eq 1 ] && timeout 120 docker pull -q "$base_image" >/dev/null 2>&1; then
  lap "base $base_image pulled"
else
  [ "$rebuild_base" -eq 1 ] || lap "base $base_image not available from a registry; building a stand-in"
  build_local_base
  standin=1
fi

# 2. the action image. A stand-in already trusts --ca-dir; a real upstream base gets the
# certificates through the Dockerfile's .build-ca/ (build stage only), removed again afterwards.
staged=()
cleanup() {
  local f
  for f in "${staged[@]}"; do rm -f "$f"; done
  if [ -n "${made_ca_dir:-}" ]; then rmdir "$made_ca_dir" 2>/dev/null || true; fi
}
trap cleanup EXIT
if [ -n "$ca_dir" ] && [ "$standin" -eq 0 ]; then
  if [ ! -d "$context/.build-ca" ]; then
    mkdir "$context/.build-ca"
    made_ca_dir="$context/.build-ca"
  fi
  for f in "$ca_dir"/*.crt; do
    [ -e "$f" ] || continue
    [ -e "$context/.build-ca/${f##*/}" ] && continue
    cp "$f" "$context/.build-ca/"
    staged+=("$context/.build-ca/${f##*/}")
  done
  lap "staged ${#staged[@]} CA certificate(s) in $context/.build-ca for the build stage"
fi
build_args=()
[ -n "$index_url" ] && build_args+=(--build-arg "PIP_INDEX_URL=$index_url")
[ -n "$version" ] && build_args+=(--build-arg "QSJWT_VERSION=$version")
if [ "$base_image" != "$pinned" ]; then
  dockerfile=$work/Dockerfile.local
  local_dockerfile >"$dockerfile"
  lap "building with base $base_image instead of the pinned $pinned ($dockerfile)"
fi
docker build "${qflag[@]}" --network host "${build_args[@]}" -f "$dockerfile" -t "$tag" "$context" >&2
lap "built $tag"
echo "$tag"
