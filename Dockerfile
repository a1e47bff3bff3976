# Qlik Sense JWT: the GitHub container action, also usable as a plain CI image (`qs-jwt` on PATH).
#
# Base: the official python:3.13-slim, pinned by the digest of its multi-arch image index.
# Source of this digest: public Dockerfiles pinning "python:3.13-slim@sha256:6771159c..." as the
# multi-arch index digest (CISOToolbox/demo-docker, JasonTM17/AgriInsight); no registry was
# reachable where this file was written, so refresh tag and digest together on a networked host:
#   docker buildx imagetools inspect python:3.13-slim      (the "Digest:" line)
#   skopeo inspect docker://docker.io/library/python:3.13-slim --format '{{.Digest}}'
# Hosts with no registry build a stand-in and pass --build-arg BASE_IMAGE=python:3.13-slim:
# see scripts/build-image.sh and docs/container.md.
ARG BASE_IMAGE=python:3.13-slim@sha256:6771159cd4fa5d9bba1258caf0b82e6b73458c694d178ad97c5e925c2d0e1a91

# ---- build: a virtual environment in /opt/qsjwt; nothing else of this stage is kept ----------
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# Extra CA certificates (*.crt) for a TLS-intercepting proxy between this build and PyPI: put them
# in .build-ca/ in the build context (it is gitignored). pip trusts them in this stage only; they
# never reach the final image. The trailing * lets the directory be absent.
ARG EXTRA_CA_DIR=.build-ca
COPY requirements/action.txt ${EXTRA_CA_DIR}* /tmp/build/
# A PyPI mirror for locked-down networks (unset: pypi.org). The hashes still have to match.
# Build stage only, but it shows in this stage's history: no credentials in it.
ARG PIP_INDEX_URL

# Hash-locked and --no-deps: actions-toolkit's declared PyGithub/PyNaCl are NOT installed (see
# requirements/action.in). setuptools is in the lock only to build qs-jwt below.
RUN set -eu; \
    set -- /tmp/build/*.crt; \
    if [ -e "$1" ]; then \
      base_bundle=/etc/ssl/certs/ca-certificates.crt; \
      [ -r "$base_bundle" ] || base_bundle=$(python -c 'import pip._vendor.certifi as c; print(c.where())'); \
      cat "$base_bundle" "$@" > /tmp/build/ca-bundle.pem; \
      export PIP_CERT=/tmp/build/ca-bundle.pem; \
    fi; \
    python -m venv --without-pip /opt/qsjwt; \
    python -m pip --python /opt/qsjwt/bin/python install --no-deps --require-hashes --no-compile \
      -r /tmp/build/action.txt

COPY pyproject.toml README.md ./
COPY qsjwt/ qsjwt/
# Install qs-jwt (console script + metadata, so `qs-jwt --version` can read it), drop the build-only
# setuptools and the stray top-level `tests` package that the actions-toolkit wheel ships, then
# compile all bytecode once (hash-based, unchecked: the image is immutable).
RUN python -m pip --python /opt/qsjwt/bin/python install --no-deps --no-build-isolation --no-compile . \
 && python -m pip --python /opt/qsjwt/bin/python uninstall --yes setuptools \
 && rm -rf /opt/qsjwt/lib/python3*/site-packages/tests \
 && /opt/qsjwt/bin/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash /opt/qsjwt/lib

# ---- final: the base image + /opt/qsjwt + the entrypoint ---------------------------------------
FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="qs-jwt" \
      org.opencontainers.image.description="Qlik Sense JWT: mint JWTs for Qlik Sense (QSEoW and Qlik Cloud) in CI" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/qsjwt/bin:$PATH
COPY --from=build /opt/qsjwt /opt/qsjwt
COPY entrypoint.py /entrypoint.py
# No USER: GitHub runs container actions as root (the mounted workspace needs it).
# No WORKDIR: the runner sets --workdir /github/workspace.
ENTRYPOINT ["/opt/qsjwt/bin/python", "/entrypoint.py"]
