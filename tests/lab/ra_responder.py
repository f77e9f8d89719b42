"""A second "router" in the lab's upstream namespace that sends crafted RAs: the malformed
options radvd will not send, and RAs hosts must discard (a global source, hop limit 254).

It speaks from its own interface (a macvlan on the upstream's end of the host link, with its
own MAC and link-local address ``CRAFTED_ROUTER``), so the lab's radvd keeps answering beside it
from its own address and the checks judge the two routers apart. It answers Router
Solicitations (all, or only the n-th) and can announce unsolicited; :func:`kernel_view` reads
what the lab host's kernel made of an RA. Use as a context manager; the interface, the thread
and every trace the RAs left on the host (routes, addresses, the MTU) are gone afterwards.

:func:`answering` is the responder alone, for any namespace and interface (a test's own veth
pair, say).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from lab import Lab
from lab import topology as T
from probes.netns import Netns

CRAFTED_ROUTER = "fe80::bad"
CRAFTED_GLOBAL = "2001:db8:0:1::bad"  # the same router's global address, for a source test
ROGUE = "rogue0"
ALL_NODES = "ff02::1"
ALL_ROUTERS = "ff02::2"
RTNLGRP_ND_USEROPT = 20
RTM_NEWNDUSEROPT = 68
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NDUSEROPT_SRCADDR = 1


@dataclass
class Responder:
    """A running responder: what it heard and sent, and a way to announce unsolicited."""

    speak: socket.socket
    index: int
    heard: list[float] = field(default_factory=list)  # monotonic time of each RS heard
    answered: list[int] = field(default_factory=list)  # which RS (1-based) got an answer

    def announce(self, advert: bytes) -> None:
        """Send ``advert`` to all nodes now, unsolicited."""
        self.speak.sendto(advert, (ALL_NODES, 0, 0, self.index))


@contextmanager
def answering(
    netns: Netns,
    interface: str,
    source: str,
    reply: Callable[[int], bytes | None],
    *,
    hop_limit: int = 255,
) -> Iterator[Responder]:
    """Answer the n-th RS heard on ``interface`` with ``reply(n)`` (None: stay silent), sent to
    all nodes from ``source`` (an address on ``interface``) with ``hop_limit``."""
    hear, speak, index = netns.call(lambda: _open_sockets(interface, source, hop_limit))
    responder = Responder(speak, index)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                data, _ = hear.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if data[:1] != b"\x85":  # not a Router Solicitation
                continue
            responder.heard.append(time.monotonic())
            advert = reply(len(responder.heard))
            if advert is not None:
                responder.answered.append(len(responder.heard))
                responder.announce(advert)

    worker = threading.Thread(target=answer, daemon=True)
    worker.start()
    try:
        yield responder
    finally:
        stop.set()
        worker.join(2)
        hear.close()
        speak.close()


@contextmanager
def crafted_router(
    lab: Lab,
    advert: bytes,
    *,
    source: str = CRAFTED_ROUTER,
    hop_limit: int = 255,
    answer: Callable[[int], bool] = lambda n: True,
) -> Iterator[Responder]:
    """Answer the RSes ``answer`` picks (every one by default) on the upstream's host link with
    ``advert`` (ICMPv6 bytes, checksum filled in by the kernel) from ``source``, until the block
    ends; then remove the interface and whatever the RAs left in the lab host's kernel."""
    link = ("ip", "link", "add", ROGUE, "link", T.UPLINK_PEER, "type", "macvlan", "mode", "bridge")
    before = _host_state(lab)
    lab.in_ns("upstream", *link)
    try:
        for address in (CRAFTED_ROUTER, CRAFTED_GLOBAL):
            lab.in_ns("upstream", "ip", "-6", "addr", "add", f"{address}/64", "dev", ROGUE, "nodad")
        lab.in_ns("upstream", "ip", "link", "set", ROGUE, "up")
        with answering(
            Netns.named(lab.ns("upstream")),
            ROGUE,
            source,
            lambda n: advert if answer(n) else None,
            hop_limit=hop_limit,
        ) as responder:
            yield responder
    finally:
        lab.in_ns("upstream", "ip", "link", "del", ROGUE, check=False)
        _restore_host(lab, before)


def _open_sockets(
    interface: str, source: str, hop_limit: int
) -> tuple[socket.socket, socket.socket, int]:
    index = socket.if_nametoindex(interface)
    # one socket hears the RS (sent to ff02::2: a socket bound to a unicast address would not),
    # the other answers from the crafted router's own address
    hear = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    hear.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    # a router (forwarding on) is in all-routers already; elsewhere the socket joins it
    group = socket.inet_pton(socket.AF_INET6, ALL_ROUTERS) + struct.pack("@I", index)
    hear.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
    hear.settimeout(0.1)
    speak = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    speak.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hop_limit)
    speak.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    speak.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    link_local = source.lower().startswith("fe80:")
    speak.bind((source, 0, 0, index if link_local else 0))
    return hear, speak, index


# --- what the lab host's kernel did ---------------------------------------------------------


@dataclass(frozen=True)
class KernelView:
    """What the lab host's kernel holds after an RA from the crafted router: evidence."""

    default_route: str | None  # `ip -6 route` line of the default route via the crafted router
    routes: tuple[str, ...]  # other routes the RA added (prefix routes), as `ip -6 route` says
    addresses: tuple[str, ...]  # addresses it added (SLAAC), as `ip -6 addr` says
    mtu: int  # /proc/sys/net/ipv6/conf/uplink0/mtu
    user_options: tuple[bytes, ...]  # options the kernel passed to user space from that router

    @property
    def used(self) -> bool:
        """The kernel acted on the RA: it made the crafted router a default router."""
        return self.default_route is not None

    def user_types(self) -> tuple[int, ...]:
        return tuple(option[0] for option in self.user_options)

    def lines(self) -> list[str]:
        return [
            f"default route: {self.default_route or 'none'}",
            *(f"route: {r}" for r in self.routes),
            *(f"address: {a}" for a in self.addresses),
            f"{T.UPLINK} IPv6 MTU: {self.mtu}",
            *(f"to user space: option type {o[0]}, {o.hex()}" for o in self.user_options),
        ]


@contextmanager
def kernel_view(lab: Lab, *, settle: float = 0.3) -> Iterator[list[KernelView]]:
    """Watch the lab host's kernel through the block (SLAAC on, the options it passes to user
    space heard on netlink); afterwards the list holds one KernelView of what changed, and the
    host is as it was."""
    before = _host_state(lab)
    host = Netns.named(lab.ns("host"))
    listener = host.call(_useropt_socket)
    autoconf = f"net.ipv6.conf.{T.UPLINK}.autoconf"
    old_autoconf = lab.in_ns("host", "sysctl", "-n", autoconf).strip()
    lab.sysctl("host", autoconf, 1)
    seen: list[KernelView] = []
    try:
        yield seen
        time.sleep(settle)
        now = _host_state(lab)
        default = [r for r in now.routes if r.startswith("default") and CRAFTED_ROUTER in r]
        seen.append(
            KernelView(
                default_route=default[0] if default else None,
                routes=tuple(
                    r for r in now.routes if r not in default and _key(r) not in before.route_keys()
                ),
                addresses=tuple(a for a in now.addresses if a not in before.addresses),
                mtu=now.mtu,
                user_options=tuple(_read_useropts(listener)),
            )
        )
    finally:
        listener.close()
        lab.sysctl("host", autoconf, old_autoconf)
        _restore_host(lab, before)


@dataclass(frozen=True)
class _HostState:
    routes: tuple[str, ...]
    addresses: tuple[str, ...]  # "2001:db8:0:2:…/64"
    mtu: int

    def route_keys(self) -> set[str]:
        return {_key(r) for r in self.routes}


def _key(route: str) -> str:
    """A route without what changes by itself: the time left, and the MTU an RA set."""
    return re.sub(r" (expires \d+sec|mtu \d+)", "", route).strip()


def _host_state(lab: Lab) -> _HostState:
    routes = tuple(lab.in_ns("host", "ip", "-6", "route", "show", "dev", T.UPLINK).splitlines())
    addrs = lab.in_ns("host", "ip", "-6", "-o", "addr", "show", "dev", T.UPLINK)
    addresses = tuple(line.split()[3] for line in addrs.splitlines() if " inet6 " in line)
    mtu = int(lab.in_ns("host", "cat", f"/proc/sys/net/ipv6/conf/{T.UPLINK}/mtu").strip())
    return _HostState(tuple(r.strip() for r in routes), addresses, mtu)


def _restore_host(lab: Lab, before: _HostState) -> None:
    """Remove the routes and addresses that came since ``before``; put the MTU back."""
    now = _host_state(lab)
    for route in now.routes:
        if _key(route) not in before.route_keys():
            spec = route.split(" proto ")[0].split()
            lab.in_ns("host", "ip", "-6", "route", "del", *spec, "dev", T.UPLINK, check=False)
    for address in now.addresses:
        if address not in before.addresses:
            lab.in_ns("host", "ip", "-6", "addr", "del", address, "dev", T.UPLINK, check=False)
    if now.mtu != before.mtu:
        lab.sysctl("host", f"net.ipv6.conf.{T.UPLINK}.mtu", before.mtu)
    lab.in_ns("host", "ip", "-6", "neigh", "del", CRAFTED_ROUTER, "dev", T.UPLINK, check=False)


def _useropt_socket() -> socket.socket:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.bind((0, 0))
    sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, RTNLGRP_ND_USEROPT)
    sock.settimeout(0.2)
    return sock


def _read_useropts(sock: socket.socket) -> list[bytes]:
    """The ND options the kernel passed to user space (RTM_NEWNDUSEROPT) from the crafted
    router: struct nduseroptmsg (16 octets), the options, then a source-address attribute."""
    found: list[bytes] = []
    wanted = {socket.inet_pton(socket.AF_INET6, a) for a in (CRAFTED_ROUTER, CRAFTED_GLOBAL)}
    while True:
        try:
            data = sock.recv(65535)
        except TimeoutError:
            return found
        pos = 0
        while pos + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, pos)
            if length < 16:
                break
            if kind == RTM_NEWNDUSEROPT:
                body = data[pos + 16 : pos + length]
                opts_len = struct.unpack_from("=H", body, 2)[0]
                options = body[16 : 16 + opts_len]
                rest = body[16 + ((opts_len + 3) & ~3) :]
                source = None
                while len(rest) >= 4:
                    alen, atype = struct.unpack_from("=HH", rest)
                    if atype == NDUSEROPT_SRCADDR:
                        source = rest[4:20]
                    if alen < 4:
                        break
                    rest = rest[(alen + 3) & ~3 :]
                if source in wanted:
                    found.append(options)
            pos += (length + 3) & ~3
