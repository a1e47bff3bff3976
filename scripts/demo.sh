#!/bin/sh
# The main job as a demo: a throw-away key pair and certificate, one QSEoW and one Qlik Cloud
# token, each decoded and verified. Needs `qs-jwt` on PATH (`make demo` sets that up).
set -eu

work=$(mktemp -d "${TMPDIR:-/tmp}/qs-jwt-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

step() { printf '\n== %s\n' "$1"; }

step "qs-jwt keygen: throw-away RSA key and self-signed certificate in $work"
qs-jwt keygen --out-dir "$work" --bits 3072 --days 1 >/dev/null
ls -l "$work"

step "qs-jwt qseow: a token for a QSEoW virtual proxy (claims userId, userDirectory, groups)"
qs-jwt qseow --user-id svc_ci --user-directory CORP --name "CI Service" \
  --email ci@example.com --group Deployers --group Developers --groups-claim groups \
  --audience qlik \
  --private-key-file "$work/private-key.pem" --certificate-file "$work/certificate.pem" \
  --output "$work/qseow.jwt"
qs-jwt decode --token-file "$work/qseow.jwt"
qs-jwt verify - --certificate-file "$work/certificate.pem" --audience qlik < "$work/qseow.jwt" >/dev/null

step "qs-jwt cloud: a token for a Qlik Cloud JWT identity provider (key from QSJWT_PRIVATE_KEY_FILE)"
QSJWT_PRIVATE_KEY_FILE="$work/private-key.pem" qs-jwt cloud \
  --issuer qs-jwt-demo.example.com --key-id demo-key-1 --subject svc_ci \
  --name "CI Service" --email ci@example.com --group Deployers \
  --output "$work/cloud.jwt"
qs-jwt decode --token-file "$work/cloud.jwt"
qs-jwt verify - --certificate-file "$work/certificate.pem" \
  --audience qlik.api/login/jwt-session < "$work/cloud.jwt" >/dev/null
qs-jwt lint - --target cloud < "$work/cloud.jwt"

step "qs-jwt jwk: the public JWK to register in a Qlik Cloud OAuth client (Private Key JWT)"
qs-jwt jwk --private-key-file "$work/private-key.pem"

step "qs-jwt oauth --assertion-only: the client assertion qs-jwt would post to /oauth/token"
QSJWT_PRIVATE_KEY_FILE="$work/private-key.pem" qs-jwt oauth --assertion-only \
  --tenant tenant.example.com --client-id demo-client --output "$work/assertion.jwt"
qs-jwt decode --token-file "$work/assertion.jwt"
qs-jwt verify - --certificate-file "$work/certificate.pem" \
  --audience https://tenant.example.com/oauth/token < "$work/assertion.jwt" >/dev/null
# Without --assertion-only, qs-jwt oauth posts it and prints the access token Qlik issues.

step "done: every token verifies; the key and tokens are deleted now"
