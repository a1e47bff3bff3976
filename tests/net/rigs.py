"""Raw servers on 127.0.0.1 for the transport's tests: each connection is handed to a
function that reads the request and answers as it likes (slowly, wrongly, or not at all).
TLS with a throw-away CA (tests/qlik_local.py's helper). Stopped on leaving the ``with``.
And listeners that never accept a connection (``unaccepting``)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.qlik_local import _make_certificates

Handler = Callable[["Connection"], None]


@dataclass
class Connection:
    """One client connection: its request (line and headers, and any body with a length)."""

    sock: socket.socket
    stopping: threading.Event
    head: bytes = b""
    body: bytes = b""

    def read_request(self) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        self.head, _, self.body = data.partition(b"\r\n\r\n")
        for line in self.head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                while len(self.body) < int(value):
                    chunk = self.sock.recv(4096)
                    if not chunk:
                        break
                    self.body += chunk
        return self.head

    def header(self, name: str) -> str | None:
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    def send(self, data: bytes) -> bool:
        """False once the client has gone (or the server stops)."""
        if self.stopping.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def trickle(self, data: bytes, every: float) -> None:
        """``data`` one byte at a time, ``every`` seconds apart, until the client goes."""
        for byte in data:
            if not self.send(bytes([byte])) or self.stopping.wait(every):
                return


def answer(status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def replies(*answers: bytes) -> list[Handler]:
    """Handlers that each read the request and send one answer, in turn."""

    def reply(data: bytes) -> Callable[[Connection], None]:
        def handler(connection: Connection) -> None:
            connection.read_request()
            connection.send(data)

        return handler

    return [reply(data) for data in answers]


@dataclass
class RawServer:
    """Serves ``handlers`` in turn (the last one again for every later connection)."""

    handlers: list[Handler]
    directory: Path | None = None
    """with a directory: TLS, the CA in ``ca_bundle``"""
    seen: list[Connection] = field(default_factory=list)
    ca_bundle: str = ""

    def __enter__(self) -> RawServer:
        self.stopping = threading.Event()
        self.context: ssl.SSLContext | None = None
        if self.directory is not None:
            self.ca_bundle, cert, key = _make_certificates(self.directory)
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)  # so that the accepting thread sees the end soon
        self.port = self.listener.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()
        return self

    @property
    def url(self) -> str:
        return f"{'https' if self.context else 'http'}://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.ExitStack() as stack, contextlib.suppress(OSError):
            stack.enter_context(sock)
            sock.settimeout(30)
            if self.context is not None:
                sock = stack.enter_context(self.context.wrap_socket(sock, server_side=True))
            connection = Connection(sock, self.stopping)
            index = min(len(self.seen), len(self.handlers) - 1)
            self.seen.append(connection)
            self.handlers[index](connection)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.listener.close()


def recorder(connection: Connection) -> None:
    """A proxy that notes what it is asked, then hangs up."""
    connection.read_request()


@contextlib.contextmanager
def unaccepting(addresses: list[str]) -> Iterator[int]:
    """Listeners on ``addresses`` (one port, given back) whose accept queue is full: Linux
    drops a new connection's SYN then, so a client's connect waits until its time-out, as
    for a host that never answers."""
    with contextlib.ExitStack() as stack:
        port = 0
        for address in addresses:
            listener = stack.enter_context(socket.socket())
            listener.bind((address, port))
            port = listener.getsockname()[1]
            listener.listen(0)  # a queue of one, which this connection fills
            stack.enter_context(socket.create_connection((address, port), timeout=5))
        yield port
