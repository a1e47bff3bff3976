"""A transcript of every exchange with Qlik that is safe to attach to a public issue.

``--record FILE`` (``check``, ``oauth``, ``call``) writes one JSON document, rewritten after each
exchange so that a run that fails half-way still leaves what it saw. It holds what a maintainer
needs to learn how a real Qlik answers (shared/reference/qlik-observed-behaviour.md, "What a
test against a real site should record first"), and nothing that could be a credential or
personal:

- the method, the path (a segment that looks like an id, or that equals a value seen in a body
  or named by the caller, becomes ``{string:N}``), and the query's parameter *names*;
- the status, how long the exchange took, the header names of the request and the answer, the
  cookie names (never a value), and of a few headers a value that holds no secret:
  ``Retry-After``, the media type of ``Content-Type``, the path of ``Location``;
- Qlik's error codes, and its error titles and details with every run of characters that could
  be an id, a token or an e-mail address replaced;
- the JSON *shape* of each body: every string becomes ``string:LENGTH``, every number
  ``number``, except a short list of fields whose values are Qlik's vocabulary, not data
  (``session``, ``token_type``, ``status``, ``expires_in``...).

No token, assertion, cookie value, Xrfkey, user id or host name is ever written; host names only
when the user asks (``hosts=True``). The model is independent of the HTTP client: anything with
``method``, ``url``, ``status``, ``headers``, ``body`` and ``elapsed`` (and optionally
``request_headers``, ``request_body``) can be observed, so a transport can hand its own
exchange record to ``Recorder`` unchanged.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from qsjwt._version import __version__
from qsjwt.base.errors import InputError
from qsjwt.base.formats import parse_boolean
from qsjwt.base.inputs import RECORD, RECORD_HOSTS
from qsjwt.io.files import PlannedFile, check_writable, write_all

FORMAT = "qs-jwt-transcript"
VERSION = 1

MAX_BODY = 1024 * 1024
"""Bytes of a body that are read for its shape; more is noted as too large."""
MAX_ITEMS = 3
"""Items of a JSON array shown; the rest are counted."""
MAX_TEXT = 200
"""Characters of an error title or detail kept."""

_KEEP_TEXT = frozenset(
    {
        "session",  # {"session": "inactive"}: QSEoW's Personal API, the key unknown
        "token_type",  # "Bearer" (tutorial) or "bearer" (schema)
        "status",  # "401" in an error entry, "active" for a user
        "grant_type",
        "client_assertion_type",
        "subType",
        "schemaPath",
        "buildVersion",
        "code",
        "error",
    }
)
"""Fields whose string values are Qlik's vocabulary: kept when short and plain."""
_KEEP_NUMBER = frozenset({"expires_in", "status"})
_SCRUBBED_TEXT = frozenset({"title", "detail", "error_description", "message"})
"""Error words: kept, scrubbed of anything that could be an id, a token or an address."""
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._:/-]{0,79}")
_KEY = re.compile(r"[A-Za-z_$@][A-Za-z0-9_.$@:-]{0,63}")
_SEGMENT = re.compile(r"[A-Za-z][A-Za-z0-9._~-]{0,39}")
_ID_LIKE = re.compile(r"(?=.*[0-9]).{6,}")
"""A path segment with a digit and six characters or more: an id, a GUID, a hash."""
_EMAIL = re.compile(r"[^\s@'\"]+@[^\s@'\"]+")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_LONG_RUN = re.compile(r"[A-Za-z0-9_.+/=~-]{17,}")
"""A run of token characters longer than any word of Qlik's messages: a token, an id, a key."""


class _Headers(Protocol):
    def items(self) -> Iterable[tuple[str, Any]]: ...


class Observed(Protocol):
    """What an HTTP client reports after each exchange (the transport's ``Exchange``)."""

    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> _Headers: ...
    @property
    def body(self) -> bytes: ...
    @property
    def elapsed(self) -> float: ...


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as a client saw them (``status`` 0: no answer at all)."""

    method: str
    url: str
    status: int
    headers: _Headers
    """the answer's headers (a Message or a mapping; repeated names such as Set-Cookie kept)"""
    body: bytes
    elapsed: float
    """seconds"""
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_body: bytes | None = None


Observer = Callable[[Observed], None]
"""Called after every exchange with Qlik."""


class Recorder:
    """An observer that writes the transcript to ``path`` after every exchange.

    ``redact``: values the caller knows and that must never appear (a user id, a client id, a
    subject...), in a path, a key or an error text; values seen in any body are added as the
    run goes. A destination that cannot be written is refused at once (InputError naming the
    ``record`` input), before anything is sent; a write that fails later raises OutputError.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        command: str,
        hosts: bool = False,
        redact: Iterable[str] = (),
    ) -> None:
        self.path = Path(path)
        self.command = command
        self.hosts = hosts
        self.exchanges: list[dict[str, Any]] = []
        self._known: set[str] = set()
        self.redact(*redact)
        check_writable(self._planned())  # refused before anything is sent (exit 2)

    def redact(self, *values: str | None) -> None:
        """Values that must never appear in the transcript (shorter than 3 characters: too
        common to matter, and masking them would mask Qlik's own words)."""
        for value in values:
            if isinstance(value, str) and len(value.strip()) >= 3:
                self._known.add(value.strip())

    def __call__(self, exchange: Observed) -> None:
        self.exchanges.append(self._entry(exchange))
        self.write()

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "tool": f"qs-jwt {__version__}",
            "command": self.command,
            "hosts": self.hosts,
            "exchanges": self.exchanges,
        }

    def text(self) -> str:
        return json.dumps(self.document(), indent=2, sort_keys=False) + "\n"

    def write(self) -> None:
        write_all([self._planned()])

    def _planned(self) -> PlannedFile:
        return PlannedFile(self.path, self.text().encode(), RECORD, 0o644)

    # --- one exchange -----------------------------------------------------------------------

    def _entry(self, exchange: Observed) -> dict[str, Any]:
        request_headers: Mapping[str, str] = getattr(exchange, "request_headers", None) or {}
        request_body: bytes | None = getattr(exchange, "request_body", None)
        answer_headers = [(str(n), str(v)) for n, v in exchange.headers.items()]
        parts = urllib.parse.urlsplit(exchange.url)
        entry: dict[str, Any] = {"method": exchange.method.upper()[:10]}
        if self.hosts:
            entry["host"] = parts.netloc.rpartition("@")[2]
        query = urllib.parse.parse_qsl(parts.query, True)
        # what the request carried is data: masked wherever it shows up again (an echo)
        self.redact(*(value for _, value in query), *_credentials(request_headers))
        entry["path"] = self._path(parts.path)
        names = sorted({self._key(name) for name, _ in query})
        if names:
            entry["query"] = names
        # the request first: the values it sent are data, masked wherever the answer has them
        entry["request"] = {
            "headers": sorted({n.lower() for n in request_headers}),
            "cookies": _request_cookies(request_headers),
            "body": None
            if not request_body
            else self._body(request_body, _header(request_headers.items(), "Content-Type")),
        }
        response_body = self._body(exchange.body, _header(answer_headers, "Content-Type"))
        entry["status"] = int(exchange.status)
        entry["elapsed_ms"] = max(0, round(exchange.elapsed * 1000))
        response: dict[str, Any] = {
            "headers": sorted({n.lower() for n, _ in answer_headers}),
            "cookies": sorted(
                {
                    self._key(value.split("=", 1)[0].strip())
                    for name, value in answer_headers
                    if name.lower() == "set-cookie"
                }
            ),
        }
        if (wait := _header(answer_headers, "Retry-After")) is not None:
            response["retry_after"] = wait.strip() if wait.strip().isdigit() else "date"
        if (kind := _header(answer_headers, "Content-Type")) is not None:
            response["content_type"] = self._plain(kind.split(";")[0].strip().lower())
        if (where := _header(answer_headers, "Location")) is not None:
            location = urllib.parse.urlsplit(where.strip())
            response["location"] = {
                "absolute": bool(location.netloc),
                "path": self._path(location.path),
                "query": sorted(
                    {self._key(n) for n, _ in urllib.parse.parse_qsl(location.query, True)}
                ),
            }
            if self.hosts and location.netloc:
                response["location"]["host"] = location.netloc.rpartition("@")[2]
        errors = _errors(exchange.body)
        if errors:
            response["errors"] = [
                {key: self._scrub(value) for key, value in error.items()} for error in errors
            ]
        response["body"] = response_body
        entry["response"] = response
        return entry

    def _body(self, body: bytes, content_type: str | None) -> Any:  # noqa: ANN401 (a JSON shape)
        if not body:
            return None
        if len(body) > MAX_BODY:
            return {"$bytes": len(body), "$note": "too large to read"}
        kind = (content_type or "").split(";")[0].strip().lower()
        try:
            document = json.loads(body)
        except ValueError:
            if kind == "application/x-www-form-urlencoded":
                form = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), True)
                return {"$form": {self._key(n): self._value(n, v) for n, v in form}}
            return {"$bytes": len(body), "$type": self._plain(kind) if kind else "unknown"}
        return self._shape(document, None)

    def _shape(self, value: Any, key: str | None) -> Any:  # noqa: ANN401 (JSON in, JSON out)
        if isinstance(value, dict):
            return {self._key(str(k)): self._shape(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            shown = [self._shape(item, None) for item in value[:MAX_ITEMS]]
            if len(value) > MAX_ITEMS:
                shown.append(f"... {len(value) - MAX_ITEMS} more")
            return shown
        return self._value(key, value)

    def _value(self, key: str | None, value: Any) -> Any:  # noqa: ANN401 (a JSON scalar)
        if value is None:
            return None
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int | float):
            return value if key in _KEEP_NUMBER and isinstance(value, int) else "number"
        text = str(value)
        if key in _KEEP_TEXT and _PLAIN.fullmatch(text) and not self._is_known(text, whole=True):
            return text
        if key in _SCRUBBED_TEXT:
            return self._scrub(text)
        self.redact(text)  # data: never shown, and masked wherever it appears later
        return f"string:{len(text)}"

    def _is_known(self, text: str, *, whole: bool = False) -> bool:
        if whole:
            return any(text.lower() == known.lower() for known in self._known)
        return any(known.lower() in text.lower() for known in self._known)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._known)

    def _plain(self, text: str) -> str:
        return (
            text if _PLAIN.fullmatch(text) and not self._is_known(text) else f"string:{len(text)}"
        )

    def _key(self, name: str) -> str:
        """A JSON key or a parameter name: kept unless it looks like an id or is a value."""
        if (
            _KEY.fullmatch(name)
            and not _ID_LIKE.fullmatch(name)
            and not self._is_known(name, whole=True)
        ):
            return name
        return f"{{key:{len(name)}}}"

    def _path(self, path: str) -> str:
        segments = []
        for raw in path.split("/"):
            segment = urllib.parse.unquote(raw)
            if not segment or (
                _SEGMENT.fullmatch(segment)
                and not _ID_LIKE.fullmatch(segment)
                and not self._is_known(segment, whole=True)
            ):
                segments.append(segment)
            else:
                segments.append(f"{{string:{len(segment)}}}")
        return "/".join(segments) or "/"


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """Qlik's error words with anything that could be an id, a value or a token replaced:
    the ``known`` values, quoted text, e-mail addresses, long runs of token characters, and
    every character that is not printable; at most ``MAX_TEXT`` characters kept."""
    cut = text[:MAX_TEXT]
    for value in sorted({v for v in known if v}, key=len, reverse=True):
        cut = re.sub(re.escape(value), _masked, cut, flags=re.IGNORECASE)
    cut = _QUOTED.sub(lambda m: f"{{quoted:{len(m.group()) - 2}}}", cut)
    cut = _EMAIL.sub(lambda m: f"{{email:{len(m.group())}}}", cut)
    cut = _LONG_RUN.sub(_masked, cut)
    cut = "".join(c if c.isprintable() else " " for c in cut)
    return cut + ("..." if len(text) > MAX_TEXT else "")


def _masked(match: re.Match[str]) -> str:
    return f"{{string:{len(match.group())}}}"


def _header(headers: Iterable[tuple[str, Any]], name: str) -> str | None:
    for key, value in headers:
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _credentials(headers: Mapping[str, str]) -> Iterable[str]:
    """The values of the request headers that carry a credential: a token, cookies, Xrfkey."""
    for key, value in headers.items():
        name = key.lower()
        if name == "authorization":
            yield value.partition(" ")[2] or value
        elif name == "x-qlik-xrfkey":
            yield value
        elif name == "cookie":
            yield from (part.partition("=")[2] for part in value.split(";"))


def _request_cookies(headers: Mapping[str, str]) -> list[str]:
    names = set()
    for key, value in headers.items():
        if key.lower() == "cookie":
            for part in value.split(";"):
                name = part.split("=", 1)[0].strip()
                if name:
                    names.add(name if _KEY.fullmatch(name) else f"{{key:{len(name)}}}")
    return sorted(names)


def _errors(body: bytes) -> list[dict[str, str]]:
    """Qlik's ``errors[]`` entries (code, title, detail, status) or an RFC 6749 ``error``."""
    try:
        document = json.loads(body) if body and len(body) <= MAX_BODY else None
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    entries = document.get("errors")
    found: list[dict[str, str]] = []
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict):
                kept = {
                    key: entry[key]
                    for key in ("code", "title", "detail", "status")
                    if isinstance(entry.get(key), str)
                }
                if kept:
                    found.append(kept)
    for key in ("error", "error_description"):
        if isinstance(document.get(key), str):
            found.append({key: document[key]})
    return found


def open_recorder(
    values: Mapping[str, str | Sequence[str]], *, command: str, under: str | None = None
) -> Recorder | None:
    """The Recorder that the ``record`` and ``record-hosts`` inputs ask for, or None: what each
    shell calls once, then passes as ``record=`` to ``prove``, ``obtain_access_token`` and
    ``call`` (the same one to each call of a run). ``under``: a directory the file goes into,
    by its name alone (the action's RUNNER_TEMP: its path is then the output record-path).
    Raises InputError naming ``record`` for a destination that cannot be written."""
    raw = values.get(RECORD)
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None
    hosts_text = values.get(RECORD_HOSTS)
    hosts = parse_boolean(
        hosts_text.strip() if isinstance(hosts_text, str) and hosts_text.strip() else "false",
        input_name=RECORD_HOSTS,
    )
    path = Path(text)
    if under is not None:
        if path.name in ("", ".", "..") or path.name != text:
            raise InputError(
                "is a file name (written under RUNNER_TEMP), without a directory",
                input_name=RECORD,
                hint="give a name such as qlik-transcript.json",
            )
        path = Path(under) / path.name
    return Recorder(path, command=command, hosts=hosts)


def read_transcript(path: str | Path) -> dict[str, Any]:
    """A transcript written by ``Recorder`` (this format and version), for replay; raises
    ValueError for anything else."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError("not a qs-jwt transcript")
    if document.get("version") != VERSION:
        raise ValueError(f"transcript version {document.get('version')!r}; this reads {VERSION}")
    if not isinstance(document.get("exchanges"), list):
        raise ValueError("a transcript without exchanges")
    return document
