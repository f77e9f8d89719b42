"""How a lab site differs from the healthy one: faults (and the fixes and variations a site may
have), each one object that knows where it applies itself.

The lab calls each fault of a scenario at three points of ``up``, in the scenario's order:

- ``site``: before anything is built, on the components' settings (lab.site.Site): the
  upstream router's adverts, the DNS server and its zone, the far end's services, the host's
  resolv.conf and dockerd's flags, the profile the lab writes, the workloads;
- ``networks``: once the lab's dockerd answers (what a network may be depends on its version);
- ``host``: last, once dockerd has set the host up its way (it turns forwarding on, writes its
  own firewall rules): the host's sysctls, firewall and ND proxy, the upstream's firewall.

Every hook does nothing unless a fault says otherwise: the healthy site has no faults.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import ClassVar

from lab import topology as T
from lab.site import (
    SITE_TABLE,
    HostChanges,
    Network,
    Networks,
    PublishedService,
    SecondRouter,
    Site,
)

PACKET_TOO_BIG = ("-p", "icmpv6", "--icmpv6-type", "packet-too-big", "-j", "DROP")


@dataclass(frozen=True, slots=True)
class Fault:
    # it changes the host's firewall, or what Docker writes there: a scenario with one runs on
    # each of Docker 29's firewall backends
    firewall: ClassVar[bool] = False

    def site(self, site: Site) -> None:
        """Change the components' settings before the lab builds them."""

    def networks(self, networks: Networks, docker_major: int) -> None:
        """Change the networks the lab creates on a dockerd of this major version."""

    def host(self, host: HostChanges, site: Site) -> None:
        """Add the host's (or the upstream's) last changes."""


# the container prefixes and the path to them ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class PrefixOnLink(Fault):
    """The container prefixes sit inside the uplink's on-link /64, and the upstream router has
    no route to the host for them (the provider case)."""

    def site(self, site: Site) -> None:
        site.addressing.bridge6 = T.ONLINK_BRIDGE6
        site.addressing.net6 = T.ONLINK_NET6
        site.addressing.container_prefix = T.UPLINK_PREFIX
        site.addressing.routed_to_host = []


@dataclass(frozen=True, slots=True)
class NdpProxy(Fault):
    """The host answers Neighbor Discovery for container addresses on its uplink (the fix for
    an on-link prefix): proxy_ndp=1 and a proxy entry for each likely container address."""

    def host(self, host: HostChanges, site: Site) -> None:
        host.sysctl("host", "net.ipv6.conf.all.proxy_ndp", 1)
        host.sysctl("host", f"net.ipv6.conf.{T.UPLINK}.proxy_ndp", 1)
        # the kernel delays each proxied NA by up to 0.8 s at random by default: a fresh
        # container's (or build step's) first DNS query would wait for it, past the
        # resolution threshold; a site that proxies ND for containers turns that off
        host.sysctl("host", f"net.ipv6.neigh.{T.UPLINK}.proxy_delay", 0)
        n = T.PROXY_ENTRIES_PER_NETWORK
        for p6, p4 in ((site.addressing.bridge6, T.BRIDGE4), (site.addressing.net6, T.NET4)):
            assert p6 is not None, "ND proxy entries need fixed container prefixes"
            for addr in T.likely_container_addresses(p6, p4, n):
                host.run("host", "ip", "-6", "neigh", "add", "proxy", addr, "dev", T.UPLINK)


@dataclass(frozen=True, slots=True)
class ForwardingOff(Fault):
    """Host IPv6 forwarding is off (dockerd turns it on as it sets up IPv6: off afterwards)."""

    def host(self, host: HostChanges, site: Site) -> None:
        host.sysctl("host", "net.ipv6.conf.all.forwarding", 0)


@dataclass(frozen=True, slots=True)
class UplinkFromUserspace(Fault):
    """The uplink as systemd-networkd runs it (Ubuntu's netplan default): the kernel told not to
    take Router Advertisements (accept_ra 0), the daemon taking them in user space and
    installing the default route it learnt (protocol ra, via the router's link-local address),
    forwarding on for the uplink itself. A healthy host: the kernel's own RA rule does not
    apply to a route it did not learn."""

    def host(self, host: HostChanges, site: Site) -> None:
        up = T.UPLINK
        # the route the kernel learnt goes, the daemon's (same router, same metric) replaces
        # it; then the kernel is told to take no RAs (turning that off first would lose the
        # route before it could be read)
        host.run(
            "host", "sh", "-c",
            f"via=$(ip -6 route show default dev {up} | awk '{{print $3; exit}}') && "
            f"test -n \"$via\" && ip -6 route del default dev {up} && "
            f"ip -6 route add default via \"$via\" dev {up} proto ra metric 1024",
        )  # fmt: skip
        host.sysctl("host", f"net.ipv6.conf.{up}.accept_ra", 0)
        host.sysctl("host", f"net.ipv6.conf.{up}.forwarding", 1)


@dataclass(frozen=True, slots=True)
class ForwardDrop(Fault):
    """The host's firewall drops forwarded container traffic."""

    firewall: ClassVar[bool] = True

    def host(self, host: HostChanges, site: Site) -> None:
        if host.docker_nftables:
            # no DOCKER-USER under Docker 29's nftables backend: the site's own table
            host.site_forward_rule("host", f'iifname "{T.UPLINK}" drop')
        elif host.docker_writes_ip6tables:
            # Docker's own FORWARD rules accept container traffic before any policy (and 26
            # sets the policy to DROP itself): a site's fault is then a rule of its own, where
            # Docker says to put them
            host.run("host", "ip6tables", "-I", "DOCKER-USER", "-i", T.UPLINK, "-j", "DROP")
        else:
            host.run("host", "ip6tables", "-P", "FORWARD", "DROP")


@dataclass(frozen=True, slots=True)
class PacketTooBigDropped(Fault):
    """ICMPv6 Packet Too Big toward the containers is dropped: at "host", by a forward rule of
    the site's ("drop ICMPv6 to be safe"); at "upstream", the router never lets its own out."""

    firewall: ClassVar[bool] = True

    at: str

    def host(self, host: HostChanges, site: Site) -> None:
        if self.at == "host" and host.docker_nftables:
            host.site_forward_rule("host", "icmpv6 type packet-too-big drop")
        elif self.at == "host":
            chain = "DOCKER-USER" if host.docker_writes_ip6tables else "FORWARD"
            host.run("host", "ip6tables", "-I", chain, *PACKET_TOO_BIG)
        elif self.at == "upstream":
            host.run("upstream", "ip6tables", "-I", "OUTPUT", *PACKET_TOO_BIG)
        else:
            raise ValueError(f"Packet Too Big dropped at {self.at!r}: host or upstream")


@dataclass(frozen=True, slots=True)
class PathMtuUnknownToHost(Fault):
    """The host's route beyond the upstream does not carry the narrower hop's MTU."""

    firewall: ClassVar[bool] = True

    def site(self, site: Site) -> None:
        site.host.path_mtu = None


@dataclass(frozen=True, slots=True)
class TwoNarrowHops(Fault):
    """Not a fault: the path beyond the upstream has two links narrower than the uplink, each
    narrower than the last (the upstream's own next link, then a transit router's), each
    router sending its own Packet Too Big. The host, where it locks its route's MTU, locks the
    path's: the smallest."""

    def site(self, site: Site) -> None:
        site.core.hops = (T.FIRST_HOP_MTU, T.PATH_MTU)


@dataclass(frozen=True, slots=True)
class FarPacketTooBigDropped(Fault):
    """The farther hop of two (the transit router) never lets its own Packet Too Big out: the
    black hole is beyond the upstream router, which itself says its MTU. The host, where it
    locks its route's MTU, knows only the first hop's (its provider's link)."""

    def site(self, site: Site) -> None:
        site.core.hops = (T.FIRST_HOP_MTU, T.PATH_MTU)
        site.host.path_mtu = T.FIRST_HOP_MTU

    def host(self, host: HostChanges, site: Site) -> None:
        host.run("transit", "ip6tables", "-I", "OUTPUT", *PACKET_TOO_BIG)


# Docker's daemon and networks ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ip6tables(Fault):
    """Docker writes ip6tables rules (and masquerades IPv6, NAT66): 26 asked to, with
    --experimental; 27 and later do by default."""

    firewall: ClassVar[bool] = True

    def site(self, site: Site) -> None:
        site.host.ip6tables = True


@dataclass(frozen=True, slots=True)
class RoutedGatewayMode(Fault):
    """The site routes its container prefix: on Docker >= 27 every network the lab creates is
    in routed gateway mode (docker0's mode cannot be set there and stays nat)."""

    firewall: ClassVar[bool] = True

    def networks(self, networks: Networks, docker_major: int) -> None:
        if docker_major >= 27:  # gateway modes came with 27
            networks.gateway_mode_ipv6 = "routed"


@dataclass(frozen=True, slots=True)
class UlaPool(Fault):
    """No IPv6 pool configured anywhere: Docker >= 27 allocates ULA subnets itself."""

    firewall: ClassVar[bool] = True

    def site(self, site: Site) -> None:
        site.addressing.bridge6 = None
        site.addressing.net6 = None
        site.addressing.container_prefix = None


@dataclass(frozen=True, slots=True)
class Ipv6OnlyNetwork(Fault):
    """A third network, v6only, without IPv4 (Docker >= 28; older ones have no such networks)."""

    def networks(self, networks: Networks, docker_major: int) -> None:
        if docker_major >= 28:
            networks.created.append(Network(T.V6ONLY_NETWORK, T.V6ONLY_BRIDGE, T.V6ONLY_NET6, None))


@dataclass(frozen=True, slots=True)
class InternalNetwork(Fault):
    """A third network, isonet, created --internal (compose's ``internal: true``) beside the
    ordinary ones: isolated from beyond the host on purpose, not a fault of the host's."""

    firewall: ClassVar[bool] = True

    def networks(self, networks: Networks, docker_major: int) -> None:
        networks.created.append(
            Network(T.INTERNAL_NETWORK, T.INTERNAL_BRIDGE, T.INTERNAL_NET6, T.INTERNAL_NET4, True)
        )


@dataclass(frozen=True, slots=True)
class Firewalld(Fault):
    """firewalld manages the host's firewall (lab.firewalld), and dockerd knows it: it puts its
    bridges into firewalld's zone ``docker`` (a variation, healthy by itself)."""

    firewall: ClassVar[bool] = True

    def site(self, site: Site) -> None:
        site.host.firewalld = True


@dataclass(frozen=True, slots=True)
class FirewalldEgressDrop(Fault):
    """A firewalld policy of the site's, from Docker's zone docker to the uplink's zone
    public, with target DROP (made permanent and loaded, as an administrator does): the
    containers' own connections out are dropped. Needs ``Firewalld``."""

    firewall: ClassVar[bool] = True
    policy: str = "containers-out"

    def host(self, host: HostChanges, site: Site) -> None:
        p = f"--policy={self.policy}"
        for args in (
            (f"--new-policy={self.policy}",),
            (p, "--add-ingress-zone=docker"),
            (p, "--add-egress-zone=public"),
            (p, "--set-target=DROP"),
        ):
            host.run("host", *host.firewall_cmd, "--permanent", *args)
        host.run("host", *host.firewall_cmd, "--reload")
        # a reload empties the runtime zones: dockerd, told by firewalld's signal, puts its
        # bridges back into the zone docker; the lab is up once it has
        query = shlex.join([*host.firewall_cmd, "--zone=docker", f"--query-interface={T.BRIDGE}"])
        wait = f"for i in $(seq 100); do {query} >/dev/null && exit 0; sleep 0.1; done; exit 1"
        host.run("host", "sh", "-c", wait)


@dataclass(frozen=True, slots=True)
class UserlandProxy(Fault):
    """dockerd's userland proxy (docker-proxy) is on, as by Docker's default: it takes the
    connections to published ports that no DNAT rule carries."""

    def site(self, site: Site) -> None:
        site.host.userland_proxy = True


@dataclass(frozen=True, slots=True)
class PublishedWithoutIpv6(Fault):
    """A network v4net without IPv6, and on it a container whose port is published on the
    host (both families, as `docker run -p` does): IPv6 clients reach it only through the
    userland proxy, and the container sees the gateway, not them (moby/moby#17666)."""

    # what Docker writes for published ports differs by firewall backend (29: DNAT in ip6tables
    # or in nftables): both are run
    firewall: ClassVar[bool] = True

    def site(self, site: Site) -> None:
        site.published.append(
            PublishedService("pub-v4only", T.V4NET_NETWORK, T.PUBLISHED_V4ONLY_PORT)
        )

    def networks(self, networks: Networks, docker_major: int) -> None:
        networks.created.append(
            Network(T.V4NET_NETWORK, T.V4NET_BRIDGE, None, T.V4NET_NET4, ipv6=False)
        )


@dataclass(frozen=True, slots=True)
class DefaultBridgeWithoutIpv6(Fault):
    """dockerd runs without --ipv6: the default bridge, where builds run, has no IPv6."""

    def site(self, site: Site) -> None:
        site.host.default_bridge_ipv6 = False


@dataclass(frozen=True, slots=True)
class HostNameservers(Fault):
    """The host's resolv.conf lists these nameservers (and only these)."""

    servers: tuple[str, ...]

    def site(self, site: Site) -> None:
        site.host.nameservers = list(self.servers)


@dataclass(frozen=True, slots=True)
class HostResolvLine(Fault):
    """The host's resolv.conf carries one more line, as written."""

    line: str

    def site(self, site: Site) -> None:
        site.host.resolv_extra.append(self.line)


# the far end: routers, names and services --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NoRdnss(Fault):
    """Router Advertisements carry no RDNSS and no DNSSL."""

    def site(self, site: Site) -> None:
        site.router.rdnss = []
        site.router.dnssl = []


@dataclass(frozen=True, slots=True)
class SecondRouterOnUplink(Fault):
    """A second router on the host's uplink segment, in its own namespace, whose radvd
    announces a default route at a higher preference than the upstream's (RFC 4191 high
    against medium): the host's kernel routes by it. ``forwards``: it leads on through the
    upstream (a redundant uplink, healthy); else it has no route beyond the segment (a rogue:
    packets sent by it vanish, or come back unreachable). ``source_lladdr``: its RAs carry its
    MAC (else the host learns it by Neighbor Solicitation)."""

    forwards: bool
    source_lladdr: bool = True  # its RAs carry its MAC

    def site(self, site: Site) -> None:
        site.second_router = SecondRouter(forwards=self.forwards, source_lladdr=self.source_lladdr)


@dataclass(frozen=True, slots=True)
class ZoneWithoutAaaa(Fault):
    """The zone lacks the AAAA records of the names the profile expects."""

    def site(self, site: Site) -> None:
        records = site.dns.records
        site.dns.records = [r for r in records if not (r[1] == "AAAA" and r[0] in T.ZONE_NAMES)]


@dataclass(frozen=True, slots=True)
class ApexWithoutAaaa(Fault):
    """The zone apex has its A record and no AAAA (no CNAME may stand there to lend it one)."""

    def site(self, site: Site) -> None:
        site.dns.records = [r for r in site.dns.records if r[:2] != (T.ZONE, "AAAA")]


@dataclass(frozen=True, slots=True)
class DnsOverIpv4Only(Fault):
    """The DNS server listens on its IPv4 address only."""

    def site(self, site: Site) -> None:
        site.dns.listen = [a for a in site.dns.listen if ":" not in a]


@dataclass(frozen=True, slots=True)
class Dns64(Fault):
    """The DNS server synthesizes AAAA (DNS64) from the NAT64 prefix."""

    def site(self, site: Site) -> None:
        site.dns.dns64_prefix = T.NAT64_PREFIX


@dataclass(frozen=True, slots=True)
class Nat64(Fault):
    """A real NAT64 (tayga) translates the DNS64 prefix, beside the resolver."""

    def site(self, site: Site) -> None:
        site.far_end.translator = True


@dataclass(frozen=True, slots=True)
class StaleAaaa(Fault):
    """A published name's AAAA is stale: its address is no one's, and packets to it vanish at
    the far end (no error comes back, as from a host that is gone)."""

    name: str

    def site(self, site: Site) -> None:
        site.far_end.stale.add(T.ENDPOINT_NAMES[self.name][0])


# what the site asks of itself -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProfileWants(Fault):
    """The lab's profile demands more than the lab's own settings give: every IPv6 network in
    ``ipv6_mode`` (RT-06), DNS64 (``dns64 = true``), the zone's IPv4-only name reached through
    DNS64 and NAT64 (NAT64-01) and resolved to AAAA on IPv6-only networks (DNS-05); or, with
    ``family``, which family its applications should use for dual-stack names (AF-01: "any"
    where the site accepts IPv4 first)."""

    ipv6_mode: str | None = None
    dns64: bool = False
    ipv4_only: bool = False
    family: str | None = None

    def site(self, site: Site) -> None:
        if self.ipv6_mode is not None:
            site.profile.ipv6_mode = self.ipv6_mode
        site.profile.dns64 = site.profile.dns64 or self.dns64
        if self.ipv4_only:
            site.profile.ipv4_only = [T.IPV4_ONLY_NAME]
        if self.family is not None:
            site.profile.family_prefer = self.family


@dataclass(frozen=True, slots=True)
class WorkloadContainers(Fault):
    """The host's own (workload) containers, spread over its IPv6 networks: ``count`` of them,
    ``without_route`` with no IPv6 default route, ``bad_resolv`` whose resolv.conf names a
    nameserver nothing serves."""

    count: int
    without_route: int = 0
    bad_resolv: int = 0

    def site(self, site: Site) -> None:
        site.workloads.count = self.count
        site.workloads.without_route = self.without_route
        site.workloads.bad_resolv = self.bad_resolv


# the firewall's size ---------------------------------------------------------------------------
# Sources a blocklist bans: 3fff::/20, the IPv6 documentation prefix the lab never uses (RFC 9637;
# the lab's addresses are 2001:db8::/32), one /48 per rule: 3fff:0:N::/48, N in decimal digits
# (valid hex, each distinct).
BLOCKLIST = "BLOCKLIST"
BLOCKLIST_PORTS = "22,80,443"


@dataclass(frozen=True, slots=True)
class BigFirewall(Fault):
    """A blocklist of ``rules`` rules in its own chain jumped from the site's forward chain
    (DOCKER-USER where Docker writes ip6tables, FORWARD where it does not, the site's own nft
    table on Docker 29's nftables backend), as fail2ban or a blocklist tool writes one: each
    rule rejects new TCP to a few ports from one banned prefix. The prefixes are documentation
    space the lab never uses, so nothing of the site's is dropped: healthy, with a big firewall
    for the checks to read and judge in time."""

    firewall: ClassVar[bool] = True

    rules: int = 10_000

    def _lines(self, head: str, each: str, tail: str) -> str:
        """A shell command printing ``head``, ``each`` for i = 0 … rules-1 ($i in it), ``tail``."""
        return (
            f"{{ printf '%s\\n' {head}; i=0; while [ $i -lt {self.rules} ]; do "
            f"echo \"{each}\"; i=$((i+1)); done; printf '%s\\n' {tail}; }}"
        )

    def host(self, host: HostChanges, site: Site) -> None:
        if host.docker_nftables:
            table = f"ip6 {SITE_TABLE}"
            hook = "{ type filter hook forward priority filter - 1 ; policy accept ; }"
            head = " ".join(
                shlex.quote(line)
                for line in (
                    f"add table {table}",
                    f"add chain {table} forward {hook}",
                    f"add chain {table} blocklist",
                    f"add rule {table} forward jump blocklist",
                )
            )
            each = (
                f"add rule {table} blocklist ip6 saddr 3fff:0:$i::/48 tcp dport "
                f"{{ {BLOCKLIST_PORTS.replace(',', ', ')} }} ct state new reject with tcp reset"
            )
            script = self._lines(head, each, "''") + f" | {shlex.join(host.nft)} -f -"
            host.run("host", "sh", "-c", script)
            return
        chain = "DOCKER-USER" if host.docker_writes_ip6tables else "FORWARD"
        each = (
            f"-A {BLOCKLIST} -s 3fff:0:$i::/48 -p tcp -m multiport --dports {BLOCKLIST_PORTS} "
            "-m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset"
        )
        head = shlex.quote("*filter") + " " + shlex.quote(f":{BLOCKLIST} - [0:0]")
        script = self._lines(head, each, "COMMIT") + " | ip6tables-restore --noflush"
        host.run("host", "sh", "-c", script)
        host.run("host", "ip6tables", "-I", chain, "-j", BLOCKLIST)
        if not host.docker_writes_ip6tables and site.host.path_mtu is not None:
            # its conntrack match makes the host track connections, and so reassemble the
            # containers' fragments and send them on at its own MTU (PMTU-03): a site that
            # runs such a firewall gives its route beyond the upstream the path's MTU, as the
            # lab does where Docker's own rules track connections (lab.host.finish)
            host.run(
                "host", "ip", "-6", "route", "add", T.FAR_END_ROUTE, "via",
                T.UPSTREAM_ON_UPLINK6, "dev", T.UPLINK, "mtu", "lock", str(site.host.path_mtu),
            )  # fmt: skip
