"""The client's address on published ports (AF-02): which containers publish a TCP port on the
host's IPv6 addresses, a connection to one from a client outside the container, and the source
address the container sees for it, read from its own connection table.

Read-only toward the container: its table is the kernel's ``/proc/PID/net/tcp6`` and
``/proc/PID/net/tcp`` (the network namespace of the container's init, as the host's procfs
shows it), never anything the container wrote, and nothing is exec'd in it. The connection is
held open while the table is read: the container's kernel lists it (established, in its
listener's queue) whether or not the server has accepted it yet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from probes import dns
from probes.docker import DockerEndpoint, NetworkInfo, proc_start
from probes.netns import Netns
from probes.workloads import Selector, is_harness_container

# /proc/net/tcp states the kernel lists for a connection a server has (or will) accept
_STATES = {"01": "ESTABLISHED", "03": "SYN_RECV"}
POLL = 0.02  # seconds between reads of the container's table


@dataclass(frozen=True, slots=True)
class PublishedPort:
    """One TCP port a running container publishes on the host, with what the check compares
    against: the container's own addresses and its networks' gateways."""

    container: str
    id: str
    pid: int
    started: int | None  # /proc/PID/stat start time: the same process, not a reused PID
    private_port: int
    host_port: int
    host_ips: tuple[str, ...]  # each binding's host address: "", "::", "0.0.0.0" or one
    networks: tuple[NetworkInfo, ...]
    addresses: tuple[str, ...]  # the container's own, IPv4 and IPv6, on those networks
    gateways: tuple[str, ...]  # its networks' gateways, IPv4 and IPv6

    @property
    def direct(self) -> bool:
        """Published on the container's own IPv6 address (a routed network, Docker 28 on:
        ``[::]:0``), not on a host port: clients reach the container itself."""
        return self.host_port == 0

    @property
    def item_id(self) -> str:
        return f"{self.container}/{f'direct{self.private_port}' if self.direct else self.host_port}"

    @property
    def reached_at(self) -> str:
        """Where a client connects, in words."""
        if self.direct:
            return f"port {self.private_port} (routed: on the container's own address)"
        return f"port {self.private_port} (host port {self.host_port})"

    @property
    def ipv6_hosts(self) -> tuple[str, ...]:
        """The host addresses it is bound to that take IPv6: "::" (every address) or one."""
        return tuple(
            dict.fromkeys("::" if ip in ("", "::") else ip for ip in self.host_ips if ":" in ip)
        )

    @property
    def has_ipv6(self) -> bool:
        """Whether the container has an IPv6 address on any of its networks."""
        return any(":" in a for a in self.addresses)

    def alive(self) -> bool:
        return self.started is not None and proc_start(self.pid) == self.started

    def describe(self) -> str:
        nets = ", ".join(
            f"{n.name} ({'IPv6' if n.enable_ipv6 else 'no IPv6'})" for n in self.networks
        )
        on = "on its own address (routed)" if self.direct else f"on host port {self.host_port}"
        return (
            f"container {self.container} port {self.private_port}/tcp published {on} "
            f"({', '.join(repr(ip or '*') for ip in self.host_ips)}); "
            f"networks {nets or 'none'}; its addresses {', '.join(self.addresses) or 'none'}"
        )


def ports_from_inspect(
    info: Mapping[str, Any], networks: Mapping[str, NetworkInfo]
) -> list[PublishedPort]:
    """The TCP ports a running container publishes, from ``docker inspect``'s answer."""
    state = info.get("State") or {}
    pid = int(state.get("Pid") or 0)
    if not state.get("Running") or pid <= 0:
        return []
    settings = info.get("NetworkSettings") or {}
    attached = settings.get("Networks") or {}
    nets, addresses, gateways = [], [], []
    for name, net in sorted(attached.items()):
        if not isinstance(net, Mapping):
            continue
        if name in networks:
            nets.append(networks[name])
        addresses += [net.get("IPAddress"), net.get("GlobalIPv6Address")]
        gateways += [net.get("Gateway"), net.get("IPv6Gateway")]
    bindings: dict[tuple[int, int], list[str]] = {}
    for spec, bound in sorted((settings.get("Ports") or {}).items()):
        port, _, proto = str(spec).partition("/")
        if proto != "tcp" or not port.isdigit() or not isinstance(bound, list):
            continue
        for b in bound:
            host_port, host_ip = str((b or {}).get("HostPort") or ""), str(b.get("HostIp") or "")
            if not host_port and ":" in host_ip:
                host_port = "0"  # routed (Docker 28 on): the container's own address, no host port
            if host_port.isdigit():
                bindings.setdefault((int(port), int(host_port)), []).append(host_ip)
    name = str(info.get("Name") or str(info.get("Id", "?"))[:12]).lstrip("/")
    return [
        PublishedPort(
            name,
            str(info.get("Id", "")),
            pid,
            proc_start(pid),
            private,
            host,
            tuple(ips),
            tuple(nets),
            tuple(a for a in addresses if a),
            tuple(g for g in gateways if g),
        )
        for (private, host), ips in sorted(bindings.items())
    ]


async def find_published(docker: DockerEndpoint, selector: Selector) -> list[PublishedPort]:
    """Every TCP port the selected running containers publish (any network: a container
    without IPv6 is the case that loses the client), the harness's own left out; one list
    call, one inspect per container that publishes a port."""
    if selector.kind == "none":
        return []
    filters: dict[str, list[str]] = {"status": ["running"]}
    if selector.label_filter():
        filters["label"] = selector.label_filter()
    networks = {n.name: n for n in await docker.networks()}
    listed = await docker.call(docker.client.containers.list(filters=json.dumps(filters)))
    candidates = []
    for c in listed:
        data = c._container
        names = [str(n).lstrip("/") for n in data.get("Names") or []]
        # a routed network's port (Docker 28 on) is listed on "::" with no public port
        published = any(
            p.get("PublicPort") or ":" in str(p.get("IP") or "") for p in data.get("Ports") or []
        )
        if is_harness_container(data.get("Labels") or {}) or not published:
            continue
        if any(selector.matches(n, str(data.get("Id", ""))) for n in names or [""]):
            candidates.append(c)
    async with asyncio.TaskGroup() as tg:
        shown = [tg.create_task(docker.call(c.show())) for c in candidates]
    found = [p for t in shown for p in ports_from_inspect(t.result(), networks)]
    return sorted(found, key=lambda p: (p.container, p.host_port))


@dataclass(frozen=True, slots=True)
class Conn:
    """One row of a TCP table: a connection the container's kernel holds."""

    local: str
    local_port: int
    remote: str
    remote_port: int
    state: str

    def text(self) -> str:
        return (
            f"{_where(self.local, self.local_port)} <- {_where(self.remote, self.remote_port)} "
            f"{self.state}"
        )


def _where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _unmapped(address: str) -> str:
    """An IPv4-mapped IPv6 address (a dual-stack listener's IPv4 peer) as the IPv4 it is."""
    ip = ipaddress.ip_address(address)
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return str(mapped) if mapped is not None else str(ip)


def _address(hexed: str) -> str:
    """/proc/net/tcp's address: 32-bit words in the host's byte order (little endian here)."""
    raw = bytes.fromhex(hexed)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return _unmapped(str(ipaddress.ip_address(words)))


def parse_tcp_table(text: str) -> list[Conn]:
    """The connections of a /proc/net/tcp or tcp6 text (listeners and closing ones left out);
    a row that is not one is skipped."""
    conns = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] not in _STATES:
            continue
        try:
            (la, lp), (ra, rp) = (f.split(":") for f in fields[1:3])
            conns.append(
                Conn(_address(la), int(lp, 16), _address(ra), int(rp, 16), _STATES[fields[3]])
            )
        except ValueError:
            continue
    return conns


def read_table(pid: int) -> list[Conn]:
    """The TCP connections in the network namespace of process ``pid`` (IPv6 and IPv4),
    read from the host's procfs; OSError if the process is gone."""
    conns = []
    for name in ("tcp6", "tcp"):
        with open(f"/proc/{pid}/net/{name}", encoding="ascii", errors="replace") as f:
            conns += parse_tcp_table(f.read())
    return conns


@dataclass(frozen=True, slots=True)
class ClientAddressSeen:
    """One connection to a published port and what the container's table showed for it."""

    port: PublishedPort
    client_where: str  # where the client connected from, in words
    stand_in: bool  # the host's own namespace stood in for a client beyond the uplink
    target: str  # the address connected to: the host's, or the container's own (routed)
    connected: bool
    error: str | None
    client: str | None  # the client's own address and port, as its socket says
    client_port: int | None
    seen: tuple[Conn, ...]  # connections to the container's port that appeared meanwhile
    elapsed_ms: float
    host_addresses: tuple[str, ...]  # this host's own addresses (the proxy's, where it is one)
    gone: bool = False  # the container exited meanwhile

    @property
    def target_port(self) -> int:
        return self.port.private_port if self.port.direct else self.port.host_port

    @property
    def kept(self) -> Conn | None:
        """The container's row for this very connection, its client's address intact."""
        return next(
            (c for c in self.seen if (c.remote, c.remote_port) == (self.client, self.client_port)),
            None,
        )

    def lines(self) -> tuple[str, ...]:
        head = f"client: {self.client_where}"
        if not self.connected:
            return (
                head,
                f"connect to {_where(self.target, self.target_port)}: {self.error} after "
                f"{self.elapsed_ms:.0f} ms",
                self.port.describe(),
            )
        return (
            head,
            f"connected to {_where(self.target, self.target_port)} from "
            f"{_where(self.client or '?', self.client_port or 0)} in {self.elapsed_ms:.1f} ms",
            self.port.describe(),
            f"the container's TCP table (/proc/{self.port.pid}/net/tcp6 and tcp, read while "
            "the connection was held), connections to its port that appeared:",
            *(f"  {c.text()}" for c in self.seen),
            *(() if self.seen else ("  none",)),
        )


def _key(c: Conn) -> tuple[str, int, str, int]:
    return (c.local, c.local_port, c.remote, c.remote_port)


async def connect_and_look(
    port: PublishedPort,
    *,
    client: Netns,
    client_where: str,
    stand_in: bool,
    target: str,
    host_addresses: Sequence[str] = (),
    timeout: float = 1.0,
) -> ClientAddressSeen:
    """Connect from ``client`` to ``target`` at the port's host port, hold the connection and
    read the container's table until this connection (or one made for it) shows there; one
    deadline for all of it. Never raises for the network or the server."""
    started = time.monotonic()

    def result(
        connected: bool, error: str | None, me: tuple[str, int] | None, seen: Iterable[Conn]
    ) -> ClientAddressSeen:
        return ClientAddressSeen(
            port, client_where, stand_in, target, connected, error,
            me[0] if me else None, me[1] if me else None, tuple(seen),
            (time.monotonic() - started) * 1000, tuple(host_addresses),
            gone=not port.alive(),
        )  # fmt: skip

    def open_socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setblocking(False)
        return sock

    try:
        before = {_key(c) for c in await asyncio.to_thread(read_table, port.pid)}
    except OSError as exc:
        return result(False, f"the container's table cannot be read: {exc.strerror}", None, ())
    try:
        sock = await client.run(open_socket)
    except OSError as exc:
        return result(False, f"cannot open a socket: {exc.strerror or exc}", None, ())
    loop = asyncio.get_running_loop()
    connected, me, new = False, None, []
    try:
        async with asyncio.timeout(timeout):
            await loop.sock_connect(
                sock, (target, port.private_port if port.direct else port.host_port)
            )
            connected = True
            address, local_port = sock.getsockname()[:2]
            me = (_unmapped(address.split("%")[0]), int(local_port))
            while True:
                table = await asyncio.to_thread(read_table, port.pid)
                new = [
                    c for c in table if c.local_port == port.private_port and _key(c) not in before
                ]
                if any((c.remote, c.remote_port) == me for c in new):
                    break
                if new:  # one more look: the proxy's own leg, or ours a moment later
                    await asyncio.sleep(POLL * 2)
                    table = await asyncio.to_thread(read_table, port.pid)
                    new = [
                        c
                        for c in table
                        if c.local_port == port.private_port and _key(c) not in before
                    ]
                    break
                await asyncio.sleep(POLL)
    except TimeoutError:
        what = "no connection showed in the container's table" if connected else "no answer"
        return result(connected, f"{what} (timed out)", me, new)
    except OSError as exc:
        return result(connected, dns.why(exc), me, new)
    finally:
        sock.close()
    return result(True, None, me, new)
