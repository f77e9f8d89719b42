"""The Docker Engine API over a lab's unix socket: what the lab's CLI lacks, and what must be
fast (many containers at once, from a thread pool: each call opens its own connection)."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any

from lab.errors import LabError

TIMEOUT = 30.0


def engine_request(
    socket_path: Path, method: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    """One Engine API call with a JSON body (or none); its decoded JSON answer."""
    payload = None if body is None else json.dumps(body).encode()
    data = engine_call(socket_path, method, path, payload, "application/json")
    return json.loads(data) if data.strip() else None


def engine_call(
    socket_path: Path, method: str, path: str, payload: bytes | None, content_type: str
) -> str:
    """One Engine API call with a raw body; its answer as text (an HTTP error is a LabError)."""
    conn = _UnixHTTPConnection(str(socket_path))
    headers = {"Content-Type": content_type} if payload is not None else {}
    try:
        conn.request(method, path, payload, headers)
        resp = conn.getresponse()
        data = resp.read().decode(errors="replace")
    except OSError as exc:
        raise LabError(f"Docker API {method} {path}: {exc}") from exc
    finally:
        conn.close()
    if resp.status >= 300:
        raise LabError(f"Docker API {method} {path}: HTTP {resp.status}: {data.strip()}")
    return data


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(self._path)
        self.sock = sock
