"""A second "router" in the lab's upstream namespace that answers Router Solicitations with a
crafted RA: the malformed options radvd will not send.

It speaks from its own interface (a macvlan on the upstream's end of the host link, with its
own MAC and link-local address ``CRAFTED_ROUTER``), so the lab's radvd keeps answering beside it
from its own address and the checks judge the two routers apart. Use as a context manager; the
address and the thread are gone afterwards.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from lab import Lab
from lab import topology as T
from probes.netns import Netns

CRAFTED_ROUTER = "fe80::bad"
ROGUE = "rogue0"


@contextmanager
def crafted_router(lab: Lab, advert: bytes) -> Iterator[None]:
    """Answer every RS on the upstream's host link with ``advert`` (ICMPv6 bytes, checksum
    filled in by the kernel) from ``CRAFTED_ROUTER``, until the block ends."""
    link = ("ip", "link", "add", ROGUE, "link", T.UPLINK_PEER, "type", "macvlan", "mode", "bridge")
    lab.in_ns("upstream", *link)
    stop = threading.Event()
    sockets: list[socket.socket] = []
    try:
        lab.in_ns(
            "upstream", "ip", "-6", "addr", "add", f"{CRAFTED_ROUTER}/64", "dev", ROGUE, "nodad"
        )
        lab.in_ns("upstream", "ip", "link", "set", ROGUE, "up")
        hear, speak, index = Netns.named(lab.ns("upstream")).call(_open_sockets)
        sockets += (hear, speak)

        def answer() -> None:
            while not stop.is_set():
                try:
                    data, _ = hear.recvfrom(2048)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if data[:1] == b"\x85":  # a Router Solicitation
                    speak.sendto(advert, ("ff02::1", 0, 0, index))

        worker = threading.Thread(target=answer, daemon=True)
        worker.start()
        try:
            yield
        finally:
            stop.set()
            worker.join(2)
    finally:
        for sock in sockets:
            sock.close()
        lab.in_ns("upstream", "ip", "link", "del", ROGUE, check=False)


def _open_sockets() -> tuple[socket.socket, socket.socket, int]:
    index = socket.if_nametoindex(ROGUE)
    # one socket hears the RS (sent to ff02::2: a socket bound to a unicast address would not),
    # the other answers from the crafted router's own address
    hear = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    hear.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ROGUE.encode())
    hear.settimeout(0.1)
    speak = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    speak.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    speak.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    speak.bind((CRAFTED_ROUTER, 0, 0, index))
    return hear, speak, index
