"""A published service, reached by address from a namespace: a TCP connect and, for HTTP(S),
one request whose status line must come back (EP-02, EP-03); and what DNS says of its name at a
zone apex, where RFC 1034 (§3.6.2) allows no CNAME beside the SOA and NS (EP-01)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from probes import dns
from probes.netns import Netns
from probes.profile import Endpoint

MAX_STATUS_LINE = 512


@dataclass(frozen=True, slots=True)
class Attempt:
    """One address of an endpoint, tried once."""

    address: str
    port: int
    scheme: str
    connected: bool
    status: str | None  # the HTTP status line; None for tcp, or when none came
    elapsed_ms: float
    error: str | None

    @property
    def family(self) -> str:
        return "IPv6" if ":" in self.address else "IPv4"

    @property
    def ok(self) -> bool:
        return self.connected and self.error is None

    def text(self) -> str:
        where = f"[{self.address}]:{self.port}" if ":" in self.address else (
            f"{self.address}:{self.port}"
        )  # fmt: skip
        if not self.connected:
            return f"{where} ({self.family}): {self.error} after {self.elapsed_ms:.0f} ms"
        if self.scheme == "tcp":
            return f"{where} ({self.family}): connected in {self.elapsed_ms:.1f} ms"
        said = f'"{self.status}"' if self.status else "no status line"
        tail = f"; {self.error}" if self.error else ""
        return f"{where} ({self.family}): {self.scheme} {said} in {self.elapsed_ms:.1f} ms{tail}"


def _request(endpoint: Endpoint) -> bytes:
    return (
        f"GET {endpoint.path} HTTP/1.1\r\nHost: {endpoint.name}\r\n"
        "User-Agent: v6conform\r\nConnection: close\r\n\r\n"
    ).encode()


async def attempt(
    netns: Netns, address: str, endpoint: Endpoint, *, timeout: float = 1.0
) -> Attempt:
    """Connect from ``netns`` to ``address`` at the endpoint's port; for http(s) send one GET
    and read the status line. The certificate is not verified (reachability is judged, not the
    PKI). Never raises for the network or the server."""
    started = time.monotonic()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def result(connected: bool, status: str | None, error: str | None) -> Attempt:
        took = (time.monotonic() - started) * 1000
        return Attempt(address, endpoint.port, endpoint.scheme, connected, status, took, error)

    def open_socket() -> socket.socket:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        return sock

    try:
        sock = await netns.run(open_socket)
    except OSError as exc:
        return result(False, None, f"cannot open a socket: {exc.strerror or exc}")
    loop = asyncio.get_running_loop()
    connected = False
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, (address, endpoint.port))
            connected = True
            if endpoint.scheme == "tcp":
                return result(True, None, None)
            tls = None
            if endpoint.scheme == "https":
                tls = ssl.create_default_context()
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
            reader, writer = await asyncio.open_connection(
                sock=sock, ssl=tls, server_hostname=endpoint.name if tls else None
            )
            writer.write(_request(endpoint))
            await writer.drain()
            line = await reader.readline()
    except TimeoutError:
        what = "request got no status line" if connected else "no answer to the connect"
        return result(connected, None, f"{what} (timed out)")
    except (OSError, ssl.SSLError) as exc:
        return result(connected, None, dns.why(exc) if isinstance(exc, OSError) else str(exc))
    except ValueError:  # a first line longer than the stream's limit (64 KiB): no HTTP
        return result(True, None, "the answer's first line is over 64 KiB: no HTTP status line")
    finally:
        if writer is not None:
            writer.close()
        else:
            sock.close()
    status = line[:MAX_STATUS_LINE].decode("latin-1").strip()
    if not status.startswith("HTTP/"):
        return result(True, status or None, "the answer is no HTTP status line")
    return result(True, status, None)


@dataclass(frozen=True, slots=True)
class NameView:
    """What the host's nameservers say of an endpoint's name."""

    name: str
    a: dns.DnsResult
    aaaa: dns.DnsResult
    soa: dns.DnsResult  # an SOA owned by the name itself: it is a zone apex
    cname: dns.DnsResult
    ns: dns.DnsResult | None = None  # what the apex's NS say (evidence)

    @property
    def apex(self) -> bool:
        owner = self.name.rstrip(".").lower() + "."
        return any(_owner(rr) == owner and " SOA " in rr for rr in self.soa.answer)

    @property
    def cnames(self) -> tuple[str, ...]:
        owner = self.name.rstrip(".").lower() + "."
        return tuple(rr for rr in self.cname.answer if _owner(rr) == owner and " CNAME " in rr)

    def lines(self) -> tuple[str, ...]:
        ns = self.ns.lines() if self.ns is not None and self.apex else ()
        return (
            *self.aaaa.lines(), *self.a.lines(), *self.soa.lines(), *ns, *self.cname.lines()
        )  # fmt: skip


def _owner(rr: str) -> str:
    return rr.split(" ", 1)[0].lower()


async def name_view(
    netns: Netns, servers: Sequence[str], name: str, *, timeout: float = 1.0
) -> NameView:
    """A, AAAA, SOA, CNAME and NS of ``name``, asked of every server at once; the view of the
    first (in the host's order) that answered, else the first's silence."""
    kinds = ("A", "AAAA", "SOA", "CNAME", "NS")
    async with asyncio.TaskGroup() as tg:
        asks = {
            (s, t): tg.create_task(dns.query(netns, s, name, t, timeout=timeout))
            for s in servers
            for t in kinds
        }
    views = [
        NameView(name, *(asks[(s, t)].result() for t in kinds))  # A, AAAA, SOA, CNAME, NS
        for s in servers
    ]
    return next(
        (v for v in views if v.a.rcode in dns.DEFINITE and v.aaaa.rcode in dns.DEFINITE),
        next((v for v in views if v.a.answered or v.aaaa.answered), views[0]),
    )
