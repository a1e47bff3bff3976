"""The floor for bench_cold.py: one RS256 token with the claims ``qs-jwt qseow`` makes, signed
with ``cryptography`` alone and no checks. Usage: python bare_signer.py KEY.pem"""

import base64
import json
import os
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def main() -> None:
    with open(sys.argv[1], "rb") as file:
        key = serialization.load_pem_private_key(
            file.read(), None, unsafe_skip_rsa_key_validation=True
        )
    assert isinstance(key, rsa.RSAPrivateKey)
    iat = int(time.time()) - 10
    claims: dict[str, str | int] = {"userId": "alice", "userDirectory": "CORP"}
    claims["jti"] = b64(os.urandom(32)).decode()
    claims.update(iat=iat, nbf=iat, exp=iat + 3600)
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = header + b"." + body
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    sys.stdout.write((signing_input + b"." + b64(signature)).decode() + "\n")


if __name__ == "__main__":
    main()
