"""Addresses and names of the lab: documentation space only (2001:db8::/32, IPv4 TEST-NETs)."""

from __future__ import annotations

import ipaddress

# host <-> upstream: the host's uplink, an on-link /64 announced by radvd
UPLINK = "uplink0"  # in the host namespace
UPLINK_PEER = "down0"  # in the upstream namespace
UPLINK_PREFIX = "2001:db8:0:1::/64"
UPSTREAM_ON_UPLINK6 = "2001:db8:0:1::1"
HOST_ON_UPLINK6 = "2001:db8:0:1::2"
UPSTREAM_ON_UPLINK4 = "192.0.2.1"
HOST_ON_UPLINK4 = "192.0.2.2"
UPLINK4_PLEN = 29
# a second router on the uplink's segment (scenarios rogue-router and two-routers): then the
# upstream's down0 is a bridge (the segment's switch) with a port to the host and one to it
SEGMENT_HOST_PORT = "seg-host"  # in the upstream namespace, the host's uplink0 its peer
SEGMENT_ROUTER2_PORT = "seg-r2"  # in the upstream namespace, the second router's lan0 its peer
ROUTER2_LAN = "lan0"  # in the second router's namespace
ROUTER2_ON_UPLINK6 = "2001:db8:0:1::3"
ROUTER2_MAC = "02:00:5e:10:00:02"  # its link-local is fe80::5eff:fe10:2 (EUI-64 from it)

# upstream <-> inet: the far end ("the internet")
CORE = "core0"  # in the upstream namespace
EDGE = "edge0"  # in the inet namespace
CORE_PREFIX = "2001:db8:0:ffff::/64"
UPSTREAM_ON_CORE6 = "2001:db8:0:ffff::1"
INET_ON_CORE6 = "2001:db8:0:ffff::2"
UPSTREAM_ON_CORE4 = "192.0.2.9"
INET_ON_CORE4 = "192.0.2.10"
CORE4_PLEN = 30
# the upstream's next hop toward the far end is narrower than the links before it (a tunnel, as
# on many Docker hosts' providers): a container's full-size packet draws a Packet Too Big from
# the upstream router, which path MTU discovery must get back to the container (PMTU-*)
PATH_MTU = 1400
# where the path has two narrower hops (pmtu-two-hops): the upstream's next link carries
# FIRST_HOP_MTU to a transit router (namespace NAME-transit, on the core link in the far end's
# place and with its addresses), whose own next link to the far end carries PATH_MTU
FIRST_HOP_MTU = 1450
TRANSIT_IN = "edge0"  # the transit router's link to the upstream (the core link)
TRANSIT_OUT = "far0"  # its link to the far end
FAR_EDGE = "edge1"  # the far end's link to the transit router
FAR_PREFIX = "2001:db8:0:fffe::/64"
TRANSIT_ON_FAR6 = "2001:db8:0:fffe::1"
INET_ON_FAR6 = "2001:db8:0:fffe::2"
TRANSIT_ON_FAR4 = "192.0.2.13"
INET_ON_FAR4 = "192.0.2.14"
FAR4_PLEN = 30
FAR_END_ROUTE = "2001:db8::/32"  # the host's route beyond the upstream, where it carries the MTU

# the far end's services, on the inet namespace's loopback (no dummy module needed)
SERVICES = "lo"
DNS6 = "2001:db8:53::53"
DNS4 = "203.0.113.53"
ANCHORS6 = ("2001:db8:f00d::1", "2001:db8:f00d::2")
ANCHOR4 = "203.0.113.1"
ZONE = "lab.example"
# name -> (AAAA, A); None where the name has no record of that type
ZONE_NAMES: dict[str, tuple[str | None, str | None]] = {
    f"www.{ZONE}": ("2001:db8:f00d::80", "203.0.113.80"),
    f"v6only.{ZONE}": ("2001:db8:f00d::66", None),
    f"v4only.{ZONE}": (None, "203.0.113.44"),  # IPV4_ONLY_NAME, IPV4_ONLY_HOST
}
# the published services of the endpoint checks (EP-*), each http on port 80, served by a real
# web server (busybox httpd) on the far end; name -> (AAAA, A). www is ZONE_NAMES' own; ZONE
# itself is the zone apex (its SOA and NS stand there too)
ENDPOINT_NAMES: dict[str, tuple[str, str]] = {
    ZONE: ("2001:db8:f00d::80", "203.0.113.80"),
    f"shop.{ZONE}": ("2001:db8:f00d::81", "203.0.113.81"),
}
ENDPOINTS = (f"www.{ZONE}", ZONE, f"shop.{ZONE}")
WEB_ADDRESSES = ("2001:db8:f00d::80", "2001:db8:f00d::81", "203.0.113.80", "203.0.113.81")
DNSSL = (ZONE,)
RA_MAX_INTERVAL = 100  # radvd's MaxRtrAdvInterval; RDNSS/DNSSL lifetimes are 3x that (RFC 8106)
NAT64_PREFIX = "2001:db8:64::/96"  # DNS64's prefix (the nat64 scenarios' NAT64 translates it)
NAT64_DEVICE = "nat64"  # tayga's tun device, in the inet namespace
NAT64_POOL4 = "192.0.2.96/27"  # tayga's IPv4 pool (TEST-NET-1), routed back to it
NAT64_ADDR4 = "192.0.2.97"
IPV4_ONLY_NAME = "v4only.lab.example"  # a name with only an A record, whose address answers
IPV4_ONLY_HOST = "203.0.113.44"
IPV4ONLY_ARPA = ("192.0.0.170", "192.0.0.171")  # RFC 7050's well-known addresses

# Docker on the host: routed container prefix (healthy) ...
ROUTED_CONTAINER_PREFIX = "2001:db8:1::/48"
ROUTED_BRIDGE6 = "2001:db8:1::/64"
ROUTED_NET6 = "2001:db8:1:1::/64"
# ... or carved out of the uplink's on-link /64 (the provider case)
ONLINK_BRIDGE6 = "2001:db8:0:1:d0c::/80"
ONLINK_NET6 = "2001:db8:0:1:d0d::/80"
BRIDGE4 = "198.51.100.0/25"
BRIDGE4_GATEWAY = "198.51.100.1/25"
NET4 = "198.51.100.128/25"
USER_NETWORK = "v6net"
V6ONLY_NETWORK = "v6only"  # the ipv6-only scenario's network (no IPv4: Docker >= 28)
V6ONLY_BRIDGE = "br-v6only"
V6ONLY_NET6 = "2001:db8:1:2::/64"
INTERNAL_NETWORK = "isonet"  # the internal-network scenario's: --internal, isolated on purpose
INTERNAL_BRIDGE = "br-isonet"
INTERNAL_NET6 = "2001:db8:1:5::/64"
INTERNAL_NET4 = "192.0.2.64/26"
V4NET_NETWORK = "v4net"  # the af-proxy scenario's: no IPv6 (a container without it, published)
V4NET_BRIDGE = "br-v4net"
V4NET_NET4 = "192.0.2.192/26"
# the lab's published services (AF-02): host port -> the container's, busybox httpd on 80
PUBLISHED_PORT = 8080  # on v6net: the healthy site's
PUBLISHED_V4ONLY_PORT = 8081  # on v4net (no IPv6): af-proxy's
PUBLISHED_CONTAINER_PORT = 80
BRIDGE = "docker0"
USER_BRIDGE = "br-v6net"
PROXY_ENTRIES_PER_NETWORK = 16


def likely_container_addresses(prefix6: str, prefix4: str, count: int) -> list[str]:
    """Addresses Docker will hand to the first ``count`` containers of a network.

    The default bridge derives them from the MAC (itself from the IPv4 address); user-defined
    networks allocate them in order. Both patterns are covered, as the seed's static ND proxy
    entries were.
    """
    net6 = ipaddress.IPv6Network(prefix6)
    hosts4 = list(ipaddress.IPv4Network(prefix4).hosts())[1 : count + 1]
    derived = [
        str(ipaddress.IPv6Address(int(net6.network_address) | _mac_bits(str(h)))) for h in hosts4
    ]
    ordered = [str(net6.network_address + i) for i in range(2, count + 2)]
    return derived + ordered


def _mac_bits(ipv4: str) -> int:
    return (0x0242 << 32) | int(ipaddress.IPv4Address(ipv4))
