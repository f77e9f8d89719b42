"""The host's ND proxy on its uplink: the proxy_ndp sysctls and the proxy neighbour entries.

Proxy entries (``ip -6 neigh add proxy ADDR dev UPLINK``) live in the kernel's pneigh table,
which a netlink neighbour dump returns only when the request's ndm_flags is exactly NTF_PROXY
(net/core/neighbour.c, neigh_dump_info); pyroute2's ``neigh('dump')`` filters the replies
instead of setting that flag, so the request is built here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from pyroute2 import AsyncIPRoute
from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_GETNEIGH
from pyroute2.netlink.rtnl.ndmsg import ndmsg

from probes.errors import NetnsError
from probes.netns import Netns

NTF_PROXY = 0x08


@dataclass(frozen=True, slots=True)
class ProxyState:
    """What the host's ND proxy would answer for on one interface."""

    interface: str
    proxy_ndp_all: str | None  # net.ipv6.conf.all.proxy_ndp
    proxy_ndp: str | None  # net.ipv6.conf.INTERFACE.proxy_ndp
    entries: tuple[str, ...]  # addresses with a proxy entry on the interface

    @property
    def enabled(self) -> bool:
        """The kernel proxies when either sysctl is on (ndisc_recv_ns)."""
        return "1" in (self.proxy_ndp_all, self.proxy_ndp)

    @property
    def in_use(self) -> bool:
        """Someone set up ND proxy here, fully or not."""
        return self.enabled or bool(self.entries)

    def missing(self, addresses: Iterable[str]) -> tuple[str, ...]:
        """The addresses without a proxy entry on the interface."""
        have = {_norm(a) for a in self.entries}
        return tuple(a for a in addresses if _norm(a) not in have)

    def lines(self) -> tuple[str, ...]:
        shown = ", ".join(self.entries[:20]) + (" …" if len(self.entries) > 20 else "")
        return (
            f"net.ipv6.conf.all.proxy_ndp = {self.proxy_ndp_all}",
            f"net.ipv6.conf.{self.interface}.proxy_ndp = {self.proxy_ndp}",
            f"ND proxy entries on {self.interface}: {len(self.entries)}"
            + (f" ({shown})" if self.entries else ""),
        )


def _norm(addr: str) -> str:
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, addr))


def _sysctl(key: str) -> str | None:
    try:
        with open("/proc/sys/net/ipv6/conf/" + key) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


async def _dump_proxies(index: int) -> tuple[str, ...]:
    msg = ndmsg()
    msg["family"] = socket.AF_INET6
    msg["flags"] = NTF_PROXY
    found = []
    async with AsyncIPRoute() as ipr:
        replies = await ipr.nlm_request(msg, RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP)
        async for reply in replies:
            if reply["ifindex"] == index and reply.get_attr("NDA_DST"):
                found.append(str(reply.get_attr("NDA_DST")))
    return tuple(found)


async def proxy_state(netns: Netns, interface: str, *, timeout: float = 2.0) -> ProxyState:
    """Read the proxy sysctls and proxy entries of ``interface`` as ``netns`` sees them."""

    def read() -> ProxyState:
        index = socket.if_nametoindex(interface)
        entries = asyncio.run(_dump_proxies(index))  # a loop of its own, in the namespace
        return ProxyState(
            interface, _sysctl("all/proxy_ndp"), _sysctl(f"{interface}/proxy_ndp"), entries
        )

    try:
        async with asyncio.timeout(timeout):
            return await netns.run(read)
    except TimeoutError as exc:
        raise NetnsError(str(netns), f"netlink neighbour dump took over {timeout} s") from exc
    except OSError as exc:
        raise NetnsError(str(netns), f"cannot read ND proxy state of {interface}: {exc}") from exc
