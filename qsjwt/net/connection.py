"""How to reach Qlik: the host or URL, and the TLS and time rules every call shares.

``oauth`` posts to a tenant, ``check`` calls a tenant or a QSEoW virtual proxy, ``call`` any
https URL. The rules are the same for all of them, so they live here: https only, no user info
in a URL, TLS verified unless ``insecure`` (warned about on every run, and refused together
with ``ca-bundle``), and a bound on how long to keep trying. Pure: no network, no environment.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass

from qsjwt.base.durations import format_duration, parse_bounded
from qsjwt.base.errors import InputError, ref
from qsjwt.base.findings import Finding, warning
from qsjwt.base.formats import parse_boolean
from qsjwt.base.inputs import (
    CA_BUNDLE,
    CHECK,
    CONNECTION_INPUTS,
    INSECURE,
    TENANT,
    TIMEOUT,
    VIRTUAL_PROXY_URL,
)

__all__ = [
    "CA_BUNDLE",
    "CHECK",
    "CHECK_INPUTS",
    "CONNECTION_INPUTS",
    "DEFAULT_DEADLINE",
    "INSECURE",
    "TENANT",
    "TIMEOUT",
    "VIRTUAL_PROXY_URL",
    "Check",
    "Connection",
    "check_base_url",
    "check_virtual_proxy_url",
    "is_loopback",
    "normalise_tenant",
    "parse_connection",
]

CHECK_INPUTS = frozenset({CHECK, TENANT, VIRTUAL_PROXY_URL, *CONNECTION_INPUTS})
"""What ``check`` reads for qseow and cloud: where Qlik is and how to reach it, not the token."""
DEFAULT_DEADLINE = 60
"""Seconds from the first request to giving up, retries included: the ``timeout`` input's
default, and the deadline of each key-service request. The one home of this number (the
per-operation time-out is ``qsjwt.net.transport.OPERATION_TIMEOUT``)."""
MAX_TIMEOUT = 600
INSECURE_WARNING = (
    "is on: Qlik's TLS certificate is not verified, so anyone on the network path can read "
    "what is sent (a token or an assertion) and what comes back, or pose as Qlik"
)
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PREFIX = re.compile(r"[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*")


@dataclass(frozen=True)
class Connection:
    """Checked: how long to keep trying, and which TLS certificates to trust."""

    timeout: int = DEFAULT_DEADLINE
    ca_bundle: str | None = None
    insecure: bool = False


@dataclass(frozen=True)
class Check:
    """Where ``check`` proves a token, and how it gets there."""

    url: str
    """https://host[:port][/prefix]: a QSEoW virtual proxy, or a Qlik Cloud tenant"""
    connection: Connection


def parse_connection(
    timeout: str, ca_bundle: str, insecure: str
) -> tuple[Connection, tuple[Finding, ...]]:
    """The three inputs' texts (empty: not given) as a Connection, and the warning that
    ``insecure`` always gets. Raises InputError naming the input."""
    off = parse_boolean(insecure or "false", input_name=INSECURE)
    if off and ca_bundle:
        raise InputError(
            f"and {ref(CA_BUNDLE)} are both given: a CA bundle is only read when certificates "
            "are verified",
            input_name=INSECURE,
            hint=f"keep {ref(CA_BUNDLE)} (verified) and drop {ref(INSECURE)}",
        )
    findings = (warning(INSECURE_WARNING, INSECURE),) if off else ()
    return Connection(parse_timeout(timeout), ca_bundle or None, off), findings


def parse_timeout(text: str) -> int:
    """The ``timeout`` input in whole seconds, at most ``MAX_TIMEOUT``; InputError naming it."""
    return parse_bounded(
        text,
        input_name=TIMEOUT,
        default=DEFAULT_DEADLINE,
        maximum=MAX_TIMEOUT,
        limit=f"the {format_duration(MAX_TIMEOUT)} this tool waits for Qlik at most",
    )


def normalise_tenant(text: str, *, input_name: str = TENANT) -> str:
    """``tenant.eu.qlikcloud.com`` or ``https://tenant.eu.qlikcloud.com[/]`` as ``host[:port]``,
    lower case. Refuses http, a path, a query, a fragment and user info: the assertion's
    ``aud`` must be the exact URL the request goes to, and nothing else may ride along."""
    hint = "give the tenant's host, e.g. tenant.eu.qlikcloud.com (/oauth/token is added)"
    host, path = _https(text, input_name=input_name, hint=hint)
    if path not in ("", "/"):
        raise InputError(
            "holds a path, query or fragment; the tenant is a host only",
            input_name=input_name,
            hint=hint,
        )
    return host


def check_virtual_proxy_url(text: str, *, input_name: str = VIRTUAL_PROXY_URL) -> str:
    """``https://host[:port]/prefix`` (the prefix may be empty, or several segments), without a
    trailing slash: the paths of the proxy's APIs are added to it."""
    hint = "give the virtual proxy's URL with its prefix, e.g. https://qlik.example.com/jwt"
    host, path = _https(text, input_name=input_name, hint=hint)
    prefix = path.strip("/")
    if prefix and not _PREFIX.fullmatch(prefix):
        raise InputError(
            "holds a path that is not a virtual proxy prefix",
            input_name=input_name,
            hint=hint,
        )
    return f"https://{host}/{prefix}".rstrip("/")


def _https(text: str, *, input_name: str, hint: str) -> tuple[str, str]:
    """``host[:port]`` (lower case, port 443 left out) and the path of an https URL, after
    refusing anything else; a bare host is taken as ``https://host``."""
    raw = text.strip()
    if "://" not in raw:
        raw = "https://" + raw
    try:
        url = urllib.parse.urlsplit(raw)
        port = url.port
    except ValueError:
        raise InputError(
            "is not a host name or https URL", input_name=input_name, hint=hint
        ) from None
    if url.scheme.lower() != "https":
        raise InputError(
            "must use https: a token or an assertion may not travel in clear",
            input_name=input_name,
            hint=hint,
        )
    if url.username is not None or url.password is not None:
        raise InputError(
            "holds user info (user:password@); credentials never go into the URL",
            input_name=input_name,
            hint=hint,
        )
    if url.query or url.fragment or raw.endswith(("?", "#")):
        raise InputError(
            "holds a path, query or fragment; the tenant is a host only"
            if input_name == TENANT
            else "holds a query or fragment",
            input_name=input_name,
            hint=hint,
        )
    if port == 0:
        raise InputError(
            "names port 0, which no server listens on", input_name=input_name, hint=hint
        )
    host = _host(url.hostname or "", input_name=input_name, hint=hint)
    return (host if port in (None, 443) else f"{host}:{port}"), url.path


def _host(host: str, *, input_name: str, hint: str) -> str:
    """A DNS name (ASCII; IDNA-encode first) or an IP address, lower case."""
    try:
        return f"[{ipaddress.IPv6Address(host)}]" if ":" in host else _dns_or_ipv4(host)
    except ValueError:
        raise InputError("is not a valid host name", input_name=input_name, hint=hint) from None


def _dns_or_ipv4(host: str) -> str:
    name = host.lower().removesuffix(".")
    if re.fullmatch(r"[0-9.]+", name):
        return str(ipaddress.IPv4Address(name))
    labels = name.split(".")
    if len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(name)
    return name


def check_base_url(text: str, *, input_name: str) -> str:
    """A key service's ``https://host[:port][/path]``, or http to 127.0.0.1/::1/localhost; no
    user info, query or fragment. Refusals name the input and never repeat it."""
    url = text.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    hint = "e.g. https://vault.example.com:8200"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError("is not an https:// URL", input_name=input_name, hint=hint)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InputError(
            "must not carry user info, a query or a fragment", input_name=input_name, hint=hint
        )
    check_dns_name(parts.hostname, input_name=input_name, hint=hint)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InputError(
            "uses plain http to another machine: tokens would cross the network in clear",
            input_name=input_name,
            hint="use https",
        )
    return url


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: this machine, where plain http may carry a token and
    no proxy is ever used."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_dns_name(host: str, *, input_name: str, hint: str) -> None:
    """InputError naming ``input_name`` (never the host) for a host name no resolver takes: a
    label empty or over 63 characters, which ``idna`` would raise as a UnicodeError later."""
    try:
        host.encode("idna")
    except UnicodeError:
        raise InputError(
            "has a host name that is no DNS name (a label is empty or over 63 characters)",
            input_name=input_name,
            hint=hint,
        ) from None
