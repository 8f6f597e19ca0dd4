"""HTTP by hand, for requests a well-behaved client library will not send: raw paths (``..``,
``%2e%2e``, backslashes), a declared 100 MB body, a body streamed until the server gives up."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int = 0  # body bytes the server let us send


def _connect(base_url: str, timeout: float) -> socket.socket:
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_answer(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    deadline = time.monotonic() + timeout
    while len(rest) < length and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:length]


def request(
    base_url: str,
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
) -> RawAnswer:
    """Send ``method target`` exactly as written (no normalisation of the path)."""
    host = urlsplit(base_url).netloc
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    all_headers = dict(headers or {})
    if body or method in ("POST", "PUT", "PATCH"):
        all_headers.setdefault("Content-Length", str(len(body)))
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    with _connect(base_url, timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        status, answer_headers, answer_body = _read_answer(sock, timeout)
    return RawAnswer(status, answer_headers, answer_body, len(body))


def stream_until_refused(
    base_url: str,
    target: str,
    headers: dict[str, str],
    *,
    total: int,
    chunk_size: int = 256 * 1024,
    declare_length: bool = False,
    timeout: float = 30.0,
    method: str = "POST",
) -> RawAnswer:
    """Send a ``total``-byte body in chunks (chunked encoding unless ``declare_length``),
    stopping when the server answers, stops reading, or closes; then read its answer."""
    host = urlsplit(base_url).netloc
    framing = {"Content-Length": str(total)} if declare_length else {"Transfer-Encoding": "chunked"}
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in {**headers, **framing}.items()]
    sent = 0
    payload = b"x" * chunk_size
    with _connect(base_url, timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        sock.settimeout(2.0)  # a server that stopped reading blocks our send: that is the answer
        try:
            while sent < total:
                if declare_length:
                    sock.sendall(payload)
                else:
                    sock.sendall(f"{chunk_size:x}\r\n".encode() + payload + b"\r\n")
                sent += chunk_size
                if _answered(sock):
                    break
            else:
                if not declare_length:
                    sock.sendall(b"0\r\n\r\n")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
        status, answer_headers, answer_body = _read_answer(sock, timeout)
    return RawAnswer(status, answer_headers, answer_body, sent)


def _answered(sock: socket.socket) -> bool:
    """Has the server started to answer (without consuming what it sent)?"""
    sock.setblocking(False)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)
        sock.settimeout(2.0)
