"""``key-service-ca-bundle`` reaches the back end as ``Context.ca_bundle``: the seam the one
transport reads for a key service's TLS (``Transport(ca_bundle=context.ca_bundle)``)."""

from __future__ import annotations

from typing import Any

import pytest

from qsjwt.signing.remote import Context, Secrets, registry


def _opened(monkeypatch: pytest.MonkeyPatch, values: dict[str, object]) -> Context:
    seen: list[Context] = []

    def opened(_service: Any, context: Context) -> Any:
        seen.append(context)
        raise LookupError

    monkeypatch.setattr(registry, "open_remote_key", opened)
    with pytest.raises(LookupError):
        registry.remote_key_from(values, Secrets(), ci_env={})
    return seen[0]


def test_the_key_service_ca_bundle_is_the_context_s(monkeypatch: pytest.MonkeyPatch) -> None:
    values: dict[str, object] = {
        "key-service": "vault:transit/qlik",
        "key-service-ca-bundle": " /etc/vault/ca.pem ",
    }
    assert _opened(monkeypatch, values).ca_bundle == "/etc/vault/ca.pem"


def test_without_it_the_system_s_cas(monkeypatch: pytest.MonkeyPatch) -> None:
    context = _opened(monkeypatch, {"key-service": "vault:transit/qlik", "ca-bundle": "/x.pem"})
    assert context.ca_bundle is None  # Qlik's CA bundle is not the key service's
