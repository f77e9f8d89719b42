"""The lab's wiring: namespaces NAME-host, NAME-upstream and NAME-inet, the veth links between
them, their addresses (the far end's services on the inet namespace's loopback), static routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab import topology as T
from lab.shell import run, say
from lab.site import Site

if TYPE_CHECKING:
    from lab.lab import Lab


def create(lab: Lab, site: Site) -> None:
    """The three namespaces, the links between them, their addresses and static routes."""
    say("creating namespaces and links")
    two_hops = len(site.core.hops) == 2
    if len(site.core.hops) not in (1, 2):
        raise ValueError(f"a core of {len(site.core.hops)} narrower hops: the lab has 1 or 2")
    roles = lab.roles(site)
    for role in roles:
        run("ip", "netns", "add", lab.ns(role))
        lab.in_ns(role, "ip", "link", "set", "lo", "up")
    lab.sysctl("upstream", "net.ipv6.conf.all.forwarding", 1)
    lab.sysctl("upstream", "net.ipv4.ip_forward", 1)
    # ICMPv6 errors (port unreachable from a server that does not listen, a router's
    # unreachable) are rate-limited to one a second by default: whether a probe's query or
    # Docker's embedded DNS got the one error would decide a verdict. The lab answers each.
    for role in roles[1:]:
        lab.sysctl(role, "net.ipv6.icmp.ratelimit", 0)
    lab.sysctl("host", "net.ipv6.conf.all.forwarding", 1)
    lab.sysctl("host", "net.ipv4.ip_forward", 1)
    if site.second_router is None:
        _veth(lab, T.UPLINK, "host", T.UPLINK_PEER, "upstream")
    else:
        _segment(lab, site)
    # two hops: the transit router stands on the core link in the far end's place, with its
    # addresses, so the upstream's routes are the same either way
    _veth(lab, T.CORE, "upstream", T.EDGE, "transit" if two_hops else "inet")
    # forwarding is on, so the uplink must say accept_ra=2 or the kernel ignores RAs
    lab.sysctl("host", f"net.ipv6.conf.{T.UPLINK}.accept_ra", 2)
    lab.sysctl("host", f"net.ipv6.conf.{T.UPLINK}.autoconf", 0)
    plen6 = "/64"
    _addr(lab, "host", T.UPLINK, T.HOST_ON_UPLINK6 + plen6, f"{T.HOST_ON_UPLINK4}/{T.UPLINK4_PLEN}")
    _addr(
        lab,
        "upstream",
        T.UPLINK_PEER,
        T.UPSTREAM_ON_UPLINK6 + plen6,
        f"{T.UPSTREAM_ON_UPLINK4}/{T.UPLINK4_PLEN}",
    )
    _addr(
        lab,
        "upstream",
        T.CORE,
        T.UPSTREAM_ON_CORE6 + plen6,
        f"{T.UPSTREAM_ON_CORE4}/{T.CORE4_PLEN}",
    )
    _addr(
        lab, "transit" if two_hops else "inet", T.EDGE, T.INET_ON_CORE6 + plen6,
        f"{T.INET_ON_CORE4}/{T.CORE4_PLEN}",
    )  # fmt: skip
    if two_hops:
        _transit(lab, site)
    dns6 = (T.DNS6,)
    for a6 in (*T.ANCHORS6, *dns6):
        lab.in_ns("inet", "ip", "-6", "addr", "add", f"{a6}/128", "dev", T.SERVICES, "nodad")
    for a4 in (T.ANCHOR4, T.DNS4, T.IPV4_ONLY_HOST):
        lab.in_ns("inet", "ip", "addr", "add", f"{a4}/32", "dev", T.SERVICES)
    for web in T.WEB_ADDRESSES:
        if web in site.far_end.stale:
            # a stale AAAA: the address is no one's, and packets to it vanish at the far
            # end (a blackhole route: no error comes back, as from a host that is gone)
            lab.in_ns("inet", "ip", "-6", "route", "add", "blackhole", web + "/128")
            continue
        plen, extra = ("/128", ["nodad"]) if ":" in web else ("/32", [])
        lab.in_ns("inet", "ip", "addr", "add", web + plen, "dev", T.SERVICES, *extra)
    # routes: inet sends the documentation space back to upstream (or the transit router);
    # upstream defaults to inet (or the transit router, in its place)
    back6, back4 = (
        (T.TRANSIT_ON_FAR6, T.TRANSIT_ON_FAR4)
        if two_hops
        else (T.UPSTREAM_ON_CORE6, T.UPSTREAM_ON_CORE4)
    )
    lab.in_ns("inet", "ip", "-6", "route", "add", "2001:db8::/32", "via", back6)
    lab.in_ns("inet", "ip", "route", "add", "192.0.2.0/24", "via", back4)
    lab.in_ns("inet", "ip", "route", "add", "198.51.100.0/24", "via", back4)
    # "mtu lock": the router holds packets to that size when it forwards them (and sends
    # Packet Too Big), while the far end's own links stay at 1500 (it advertises a TCP MSS
    # for 1500, so a container's TCP needs path MTU discovery too, as behind a real tunnel)
    lab.in_ns(
        "upstream", "ip", "-6", "route", "add", "default", "via", T.INET_ON_CORE6,
        "mtu", "lock", str(site.core.hops[0]),
    )  # fmt: skip
    lab.in_ns("upstream", "ip", "route", "add", "default", "via", T.INET_ON_CORE4)
    lab.in_ns("upstream", "ip", "route", "add", "198.51.100.0/24", "via", T.HOST_ON_UPLINK4)
    # the container prefixes the upstream routes to the host (none: it treats them as on-link)
    for prefix in site.addressing.routed_to_host:
        lab.in_ns(
            "upstream", "ip", "-6", "route", "add", prefix, "via", T.HOST_ON_UPLINK6,
            "dev", T.UPLINK_PEER,
        )  # fmt: skip
    lab.in_ns("host", "ip", "route", "add", "default", "via", T.UPSTREAM_ON_UPLINK4)


def _transit(lab: Lab, site: Site) -> None:
    """The second narrower hop: a router between the upstream and the far end whose link to
    the far end carries the path's last, smallest MTU (its route there locked to it, as the
    upstream's is to the first), so it sends its own Packet Too Big for what the upstream let
    through. It routes the lab's own prefixes back to the upstream."""
    lab.sysctl("transit", "net.ipv6.conf.all.forwarding", 1)
    lab.sysctl("transit", "net.ipv4.ip_forward", 1)
    _veth(lab, T.TRANSIT_OUT, "transit", T.FAR_EDGE, "inet")
    plen6 = "/64"
    _addr(
        lab,
        "transit",
        T.TRANSIT_OUT,
        T.TRANSIT_ON_FAR6 + plen6,
        f"{T.TRANSIT_ON_FAR4}/{T.FAR4_PLEN}",
    )
    _addr(lab, "inet", T.FAR_EDGE, T.INET_ON_FAR6 + plen6, f"{T.INET_ON_FAR4}/{T.FAR4_PLEN}")
    lab.in_ns(
        "transit", "ip", "-6", "route", "add", "default", "via", T.INET_ON_FAR6,
        "mtu", "lock", str(site.core.hops[1]),
    )  # fmt: skip
    lab.in_ns("transit", "ip", "route", "add", "default", "via", T.INET_ON_FAR4)
    for prefix in (T.UPLINK_PREFIX, *site.addressing.routed_to_host):
        lab.in_ns("transit", "ip", "-6", "route", "add", prefix, "via", T.UPSTREAM_ON_CORE6)
    for prefix4 in ("192.0.2.0/29", "198.51.100.0/24"):
        lab.in_ns("transit", "ip", "route", "add", prefix4, "via", T.UPSTREAM_ON_CORE4)


def _segment(lab: Lab, site: Site) -> None:
    """The uplink as a segment with two routers on it: the upstream's down0 is a bridge (the
    segment's switch, and the upstream's interface on it) with a port to the host's uplink0
    and one to the second router's lan0, which its own namespace routes (onward via the
    upstream where it forwards; nowhere where it does not)."""
    second = site.second_router
    assert second is not None
    lab.in_ns(
        "upstream", "ip", "link", "add", T.UPLINK_PEER, "type", "bridge",
        "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0",
    )  # fmt: skip
    _veth(lab, T.UPLINK, "host", T.SEGMENT_HOST_PORT, "upstream")
    _veth(lab, T.ROUTER2_LAN, "router2", T.SEGMENT_ROUTER2_PORT, "upstream")
    for port in (T.SEGMENT_HOST_PORT, T.SEGMENT_ROUTER2_PORT):
        lab.in_ns("upstream", "ip", "link", "set", port, "master", T.UPLINK_PEER, "up")
    lab.in_ns("router2", "ip", "link", "set", T.ROUTER2_LAN, "address", T.ROUTER2_MAC)
    lab.sysctl("router2", "net.ipv6.conf.all.forwarding", 1)
    lab.sysctl("router2", "net.ipv6.icmp.ratelimit", 0)
    lab.in_ns(
        "router2", "ip", "-6", "addr", "add", T.ROUTER2_ON_UPLINK6 + "/64", "dev", T.ROUTER2_LAN,
        "nodad",
    )  # fmt: skip
    lab.in_ns("router2", "ip", "link", "set", T.ROUTER2_LAN, "up")
    if second.forwards:
        lab.in_ns("router2", "ip", "-6", "route", "add", "default", "via", T.UPSTREAM_ON_UPLINK6)


def _addr(lab: Lab, role: str, dev: str, addr6: str, addr4: str) -> None:
    lab.in_ns(role, "ip", "-6", "addr", "add", addr6, "dev", dev, "nodad")
    lab.in_ns(role, "ip", "addr", "add", addr4, "dev", dev)
    lab.in_ns(role, "ip", "link", "set", dev, "up")


def _veth(lab: Lab, name: str, role: str, peer: str, peer_role: str) -> None:
    run(
        "ip", "link", "add", name, "netns", lab.ns(role),
        "type", "veth", "peer", "name", peer, "netns", lab.ns(peer_role),
    )  # fmt: skip
