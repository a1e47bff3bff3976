"""The help a person reads: each command's summary, an example and the exit codes.

Only ``--help`` and usage errors import it: a mint never formats help.
"""

from __future__ import annotations

from qsjwt.cli.out import PROG

DESCRIPTION = """Mint, inspect and check JSON Web Tokens for Qlik Sense: client-managed QSEoW
virtual proxies (qseow), Qlik Cloud JWT identity providers (cloud), and Qlik Cloud OAuth
clients with a private key (oauth: an access token, no client secret)."""
MORE = f"Run '{PROG} help COMMAND' (or '{PROG} COMMAND --help') for each command's options."

EXAMPLES = {
    "qseow": f"""example:
  {PROG} qseow --user-id svc_ci --user-directory CORP --group Deployers --groups-claim groups \\
      --audience qlik --private-key-file key.pem --output token.txt
  printf 'Authorization: Bearer %s\\n' "$(cat token.txt)" > auth.header   # off the command line
  curl -H @auth.header -H "X-Qlik-Xrfkey: 0123456789abcdef" \\
      "https://qlik.example.com/jwt/qrs/about?Xrfkey=0123456789abcdef"
""",
    "cloud": f"""example:
  export QSJWT_PRIVATE_KEY_FILE=key.pem
  {PROG} cloud --issuer my-idp.example.com --key-id my-key-2026 \\
      --subject svc_ci --name "CI Service" --email ci@example.com --output token.txt
  printf 'Authorization: Bearer %s\\n' "$(cat token.txt)" > auth.header   # off the command line
  curl -X POST -H @auth.header -c cookies.txt https://tenant.eu.qlikcloud.com/login/jwt-session
""",
    "oauth": f"""example:
  export QSJWT_PRIVATE_KEY_FILE=oauth-key.pem      # its JWK is in the OAuth client (qs-jwt jwk)
  {PROG} oauth --tenant tenant.eu.qlikcloud.com --client-id 0123456789abcdef \\
      --scope user_default --output access-token.txt
  {PROG} call https://tenant.eu.qlikcloud.com/api/v1/users/me --token-file access-token.txt
""",
    "jwk": f"""example:
  {PROG} jwk --private-key-file oauth-key.pem > jwk.json
  # paste jwk.json into the OAuth client's "Public key" field, or put it in the publicKeys
  # array of POST/PATCH /api/v1/oauth-clients; qs-jwt oauth signs with the same kid
""",
    "call": f"""example:
  export QSJWT_TOKEN_FILE=access-token.txt         # or QSJWT_TOKEN, e.g. from a step output
  {PROG} call https://tenant.eu.qlikcloud.com/api/v1/users/me
  {PROG} call https://qlik.example.com/jwt/qrs/about --xrfkey --token-file token.jwt
""",
    "check": f"""example:
  export QSJWT_PRIVATE_KEY_FILE=key.pem
  {PROG} check qseow --user-id svc_ci --user-directory CORP \\
      --virtual-proxy-url https://qlik.example.com/jwt
  {PROG} check cloud --tenant tenant.eu.qlikcloud.com --issuer my-idp.example.com \\
      --key-id my-key-2026 --subject svc_ci --name "CI Service" --email ci@example.com
  {PROG} check oauth --tenant tenant.eu.qlikcloud.com --client-id 0123456789abcdef
""",
    "decode": f"""example:
  {PROG} decode --token-file token.txt      # or: {PROG} decode - < token.txt
""",
    "verify": f"""example:
  {PROG} verify --token-file token.txt --certificate-file certificate.pem --audience qlik
""",
    "lint": f"""example:
  {PROG} lint --token-file token.txt --target cloud
  {PROG} lint --token-file token.txt --target qseow --format json
""",
    "bulk": f"""example (users.csv: a header row user-id,name,email,groups, then one user per row):
  {PROG} bulk --target qseow --users-file users.csv --user-directory CORP \\
      --private-key-file key.pem --output tokens.jsonl
  # tokens.jsonl (0600): one {{"user", "token", "expires_at"}} per row, in input order
""",
    "keygen": f"""example:
  {PROG} keygen --out-dir ./qlik-jwt-key
  # paste certificate.pem into the virtual proxy's "JWT certificate" field (QSEoW)
  # or the identity provider's "Certificate" field (Qlik Cloud); keep private-key.pem secret
""",
}

EXIT_CODES = """exit codes:
  0  success
  1  failure: a token that cannot be decoded or is invalid (decode, verify, lint),
     a broken rule (lint), an output that cannot be written, an internal error
  2  bad input or usage: the message names the option or variable to fix
  3  Qlik refused (oauth, call, check): the message says which setting to change
  4  Qlik could not be reached (oauth, call, check): network, TLS, proxy or time-out; or the
     key service (Vault, a KMS) could not be reached
  130  interrupted: SIGINT (143 for SIGTERM, 129 for SIGHUP); during a write no temporary
     file is left, and each file keeps its old content (or, if the signal came during the
     final renames, holds its new one)
"""


SUMMARIES = {
    "qseow": "mint a token for a QSEoW virtual proxy (JWT)",
    "cloud": "mint a token for a Qlik Cloud JWT identity provider",
    "oauth": "get a Qlik Cloud OAuth access token with a private key (Private Key JWT)",
    "jwk": "print a key's public JWK, to register in a Qlik Cloud OAuth client",
    "call": "make one request to Qlik with a token, which stays off every command line",
    "check": "prove that Qlik takes a token, and show who Qlik logs in (no token is output)",
    "decode": "show a token's header and claims (NOT verified) and whether it is in date",
    "verify": "check a token's signature, expiry and audience",
    "lint": "list every Qlik rule a token breaks (exit 1 on any error)",
    "keygen": "create a key pair and a self-signed certificate for Qlik",
    "bulk": "mint a token per user from CSV or JSON Lines, on every core",
}
"""Every command, in the order ``--help`` lists them, with its one-line summary."""


def description(name: str) -> str:
    """A command's one-line summary as a sentence."""
    summary = SUMMARIES[name]
    return summary[0].upper() + summary[1:] + "."


def epilog(name: str) -> str:
    """A command's example and the exit codes, below its options."""
    return EXAMPLES[name] + "\n" + EXIT_CODES
