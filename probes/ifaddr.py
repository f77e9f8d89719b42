"""Interface addresses, routes and sysctls of a network namespace, read through netlink."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass

from pyroute2 import IPRoute

from probes.errors import NetnsError
from probes.netns import Netns

# IFA_F_* (linux/if_addr.h): the flags that say whether an address is usable
IFA_FLAGS = {
    0x01: "secondary",
    0x02: "nodad",
    0x04: "optimistic",
    0x08: "dadfailed",
    0x10: "homeaddress",
    0x20: "deprecated",
    0x40: "tentative",
    0x80: "permanent",
    0x100: "managetempaddr",
    0x200: "noprefixroute",
    0x400: "mcautojoin",
    0x800: "stable-privacy",
}
TENTATIVE = 0x40
DADFAILED = 0x08
RTPROT = {2: "kernel", 3: "boot", 4: "static", 9: "ra", 16: "dhcp"}


@dataclass(frozen=True, slots=True)
class IfAddr:
    interface: str
    address: str
    prefixlen: int
    flags: int

    @property
    def usable(self) -> bool:
        """Past DAD: neither tentative nor dadfailed."""
        return not self.flags & (TENTATIVE | DADFAILED)

    @property
    def link_local(self) -> bool:
        return ipaddress.IPv6Address(self.address).is_link_local

    def flag_names(self) -> tuple[str, ...]:
        return tuple(name for bit, name in IFA_FLAGS.items() if self.flags & bit)

    def __str__(self) -> str:
        flags = " ".join(self.flag_names())
        return f"{self.address}/{self.prefixlen} on {self.interface}" + (
            f" [{flags}]" if flags else ""
        )


@dataclass(frozen=True, slots=True)
class Route6:
    dst: str  # "default" or a prefix
    gateway: str | None
    interface: str | None
    protocol: str
    metric: int | None

    def __str__(self) -> str:
        via = f" via {self.gateway}" if self.gateway else ""
        dev = f" dev {self.interface}" if self.interface else ""
        metric = f" metric {self.metric}" if self.metric is not None else ""
        return f"{self.dst}{via}{dev} proto {self.protocol}{metric}"


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    index: int
    mac: bytes | None
    up: bool
    mtu: int | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Addresses, IPv6 routes and links of one namespace, read at one moment."""

    netns: str
    interfaces: tuple[Interface, ...]
    addresses: tuple[IfAddr, ...]
    routes: tuple[Route6, ...]

    def on(self, interface: str) -> tuple[IfAddr, ...]:
        return tuple(a for a in self.addresses if a.interface == interface)

    def interface(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def default_routes(self) -> tuple[Route6, ...]:
        return tuple(r for r in self.routes if r.dst == "default")


def _read(netns: Netns) -> Snapshot:
    with IPRoute() as ipr:
        interfaces = []
        names: dict[int, str] = {}
        for link in ipr.get_links():
            name = str(link.get_attr("IFLA_IFNAME"))
            names[int(link["index"])] = name
            mac = link.get_attr("IFLA_ADDRESS")
            interfaces.append(
                Interface(
                    name,
                    int(link["index"]),
                    bytes.fromhex(mac.replace(":", "")) if mac else None,
                    bool(link["flags"] & 1),
                    link.get_attr("IFLA_MTU"),
                )
            )
        addresses = []
        for msg in ipr.get_addr(family=socket.AF_INET6):
            flags = msg.get_attr("IFA_FLAGS")
            addresses.append(
                IfAddr(
                    names.get(int(msg["index"]), f"if{msg['index']}"),
                    str(msg.get_attr("IFA_ADDRESS")),
                    int(msg["prefixlen"]),
                    int(flags if flags is not None else msg["flags"]),
                )
            )
        routes = []
        for msg in ipr.get_routes(family=socket.AF_INET6, table=254):
            if msg["type"] != 1:  # unicast routes only (not local, multicast…)
                continue
            dst = msg.get_attr("RTA_DST")
            oif = msg.get_attr("RTA_OIF")
            metric = msg.get_attr("RTA_PRIORITY")
            routes.append(
                Route6(
                    f"{dst}/{msg['dst_len']}" if dst else "default",
                    msg.get_attr("RTA_GATEWAY"),
                    names.get(int(oif)) if oif is not None else None,
                    RTPROT.get(int(msg["proto"]), str(msg["proto"])),
                    int(metric) if metric is not None else None,
                )
            )
    return Snapshot(str(netns), tuple(interfaces), tuple(addresses), tuple(routes))


async def snapshot(netns: Netns) -> Snapshot:
    """Read a namespace's links, IPv6 addresses and main-table IPv6 routes."""
    try:
        return await netns.run(lambda: _read(netns))
    except OSError as exc:
        raise NetnsError(str(netns), f"netlink read failed: {exc}") from exc


def past_dad(snap: Snapshot, interface: str) -> bool:
    """Whether ``interface`` has IPv6 addresses and none is tentative any more: DAD done, or
    failed (dadfailed is final; the kernel leaves it flagged tentative too)."""
    mine = snap.on(interface)
    return bool(mine) and all(a.flags & DADFAILED or not a.flags & TENTATIVE for a in mine)


async def settled(netns: Netns, interface: str, *, timeout: float = 3.0) -> Snapshot:
    """Wait until no IPv6 address on ``interface`` is tentative (DAD done, or failed), or the
    deadline.

    A fresh container's link-local address is tentative for about a second; probing before DAD
    completes gives false failures. Returns the last snapshot either way: the caller judges it.
    """
    until = time.monotonic() + timeout
    while True:
        snap = await snapshot(netns)
        if past_dad(snap, interface):
            return snap
        if time.monotonic() >= until:
            return snap
        await asyncio.sleep(min(0.05, max(0.0, until - time.monotonic())))


# how long DAD listens for a duplicate when the harness runs it again on its own probe
# container's link-local address: a node on a bridge answers a Neighbor Solicitation within a
# millisecond; the kernel's 0-1 s random delay plus its 1 s RetransTimer are for any link
DAD_WINDOW_MS = 200
_DAD_SYSCTLS = (
    "net/ipv6/conf/{}/router_solicitation_delay",  # DAD's random delay, up to this (s)
    "net/ipv6/neigh/{}/retrans_time_ms",  # how long DAD waits after its solicitation
)


def _redo_dad(interface: str, window_ms: int) -> dict[str, str]:
    """In the namespace: DAD's delay 0 and its wait ``window_ms`` on ``interface``, each
    tentative link-local address removed and added again (DAD starts over, at once, and still
    detects a duplicate). Returns the sysctls as they were, for :func:`_restore`."""
    was: dict[str, str] = {}
    for key, value in zip(_DAD_SYSCTLS, ("0", str(window_ms)), strict=True):
        path = "/proc/sys/" + key.format(interface)
        with open(path) as f:
            was[path] = f.read().strip()
        with open(path, "w") as f:
            f.write(value)
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=interface)
        if not index:
            return was
        for msg in ipr.get_addr(family=socket.AF_INET6, index=index[0]):
            flags = msg.get_attr("IFA_FLAGS")
            flags = int(flags if flags is not None else msg["flags"])
            address = str(msg.get_attr("IFA_ADDRESS"))
            if not flags & TENTATIVE or flags & DADFAILED:
                continue
            if not ipaddress.IPv6Address(address).is_link_local:
                continue  # a global one is Docker's: left as it came
            prefixlen = int(msg["prefixlen"])
            ipr.addr("del", index=index[0], address=address, prefixlen=prefixlen)
            ipr.addr("add", index=index[0], address=address, prefixlen=prefixlen)
    return was


def _restore(was: dict[str, str]) -> None:
    for path, value in was.items():
        with open(path, "w") as f:
            f.write(value)


async def settled_soon(
    netns: Netns, interface: str, *, timeout: float = 3.0, window_ms: int = DAD_WINDOW_MS
) -> Snapshot:
    """:func:`settled` for an interface of the harness's own (a probe container's): its
    tentative link-local addresses go through DAD again with no random delay and a
    ``window_ms`` wait, so DAD takes a fifth of a second where the kernel's defaults take 1-2 s.
    A duplicate still fails it (dadfailed, as the checks see it). The interface's DAD and
    Neighbor Discovery sysctls are put back before it returns: later probes see the kernel's.
    Workload containers are never touched: they are read with :func:`settled`."""
    try:
        was = await netns.run(lambda: _redo_dad(interface, window_ms))
    except OSError as exc:
        raise NetnsError(str(netns), f"cannot restart DAD on {interface}: {exc}") from exc
    try:
        return await settled(netns, interface, timeout=timeout)
    finally:
        try:
            await netns.run(lambda: _restore(was))
        except OSError as exc:
            raise NetnsError(str(netns), f"cannot restore {interface}'s sysctls: {exc}") from exc
