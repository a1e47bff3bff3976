# Qlik Sense JWT: the GitHub container action, also usable as a plain CI image (`qs-jwt` on PATH).

# The version of qs-jwt in the image: a release passes its tag's (--build-arg QSJWT_VERSION=1.2.3;
# an image build context has no .git). The default is the unreleased version that
# qsjwt/_version.py holds (tests/test_release.py keeps the two equal).
ARG QSJWT_VERSION=0.0.0.dev0

# Base: the official python:3.13-slim, pinned by the digest of its multi-arch image index, in a
# literal FROM so that Dependabot (which does not follow an ARG into FROM) can propose updates.
# The release workflow refuses to publish unless this digest resolves in the registry
# (`docker buildx imagetools inspect`) to an index with linux/amd64 and linux/arm64. To refresh
# it by hand on a networked host:
#   docker buildx imagetools inspect python:3.13-slim      (the "Digest:" line)
# Hosts with no registry build a local stand-in instead: scripts/build-image.sh swaps this one
# line for the stand-in's tag in a copy of this file (a digest never matches a local image);
# see docs/container.md.
FROM python:3.13-slim@sha256:6771159cd4fa5d9bba1258caf0b82e6b73458c694d178ad97c5e925c2d0e1a91 AS base

# ---- build: a virtual environment in /opt/qsjwt; nothing else of this stage is kept ----------
FROM base AS build
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

COPY pyproject.toml README.md LICENSE ./
COPY qsjwt/ qsjwt/
COPY scripts/set_version.py scripts/
ARG QSJWT_VERSION
# Stamp the version (scripts/set_version.py), install qs-jwt (console script + metadata, so
# `qs-jwt --version` can read it), drop the build-only setuptools and the stray top-level `tests`
# package that the actions-toolkit wheel ships, then compile all bytecode once (hash-based,
# unchecked: the image is immutable).
RUN python scripts/set_version.py "$QSJWT_VERSION" \
 && python -m pip --python /opt/qsjwt/bin/python install --no-deps --no-build-isolation --no-compile . \
 && python -m pip --python /opt/qsjwt/bin/python uninstall --yes setuptools \
 && rm -rf /opt/qsjwt/lib/python3*/site-packages/tests \
 && /opt/qsjwt/bin/python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash /opt/qsjwt/lib

# ---- final: the base image + /opt/qsjwt + the entrypoint ---------------------------------------
FROM base
ARG QSJWT_VERSION
LABEL org.opencontainers.image.title="qs-jwt" \
      org.opencontainers.image.version="${QSJWT_VERSION}" \
      org.opencontainers.image.description="Qlik Sense JWT: mint JWTs for Qlik Sense (QSEoW and Qlik Cloud) in CI" \
      org.opencontainers.image.licenses="MIT"
# QSJWT_IMAGE marks this image, which has no boto3: `key-service: kms:...` then fails at once
# naming what works here (the composite action anywhere/), not a pip command that cannot run in
# a container action (qsjwt/signing/remote/aws.py; docs/keyless-aws.md).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    QSJWT_IMAGE=1 \
    PATH=/opt/qsjwt/bin:$PATH
COPY --from=build /opt/qsjwt /opt/qsjwt
COPY entrypoint.py /entrypoint.py
# No USER: GitHub runs container actions as root (the mounted workspace needs it).
# No WORKDIR: the runner sets --workdir /github/workspace.
ENTRYPOINT ["/opt/qsjwt/bin/python", "/entrypoint.py"]
