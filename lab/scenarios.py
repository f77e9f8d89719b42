"""The lab's scenarios: a healthy IPv6 Docker site, and the same site broken on purpose.

A scenario is its faults (lab.faults: each applies itself where the lab calls it) and what they
must break: the check IDs it must fail and the root causes the report must lead with, by Docker
generation where they differ. The detection-matrix test holds the suites to it. The healthy
site is the one without faults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lab import topology as T
from lab.dockers import GENERATIONS
from lab.faults import (
    ApexWithoutAaaa,
    BigFirewall,
    DefaultBridgeWithoutIpv6,
    Dns64,
    DnsOverIpv4Only,
    FarPacketTooBigDropped,
    Fault,
    Firewalld,
    FirewalldEgressDrop,
    ForwardDrop,
    ForwardingOff,
    HostNameservers,
    HostResolvLine,
    InternalNetwork,
    Ip6tables,
    Ipv6OnlyNetwork,
    Nat64,
    NdpProxy,
    NoRdnss,
    PacketTooBigDropped,
    PathMtuUnknownToHost,
    PrefixOnLink,
    ProfileWants,
    PublishedWithoutIpv6,
    RoutedGatewayMode,
    SecondRouterOnUplink,
    StaleAaaa,
    TwoNarrowHops,
    UlaPool,
    UplinkFromUserspace,
    UserlandProxy,
    WorkloadContainers,
    ZoneWithoutAaaa,
)
from lab.site import HostChanges, Networks, Site

ALL_GENERATIONS = frozenset(GENERATIONS)
NEWER = ("26", "28", "29")  # the generations that write resolv.conf with Docker's own parser
FROM_26 = frozenset({"26", "28", "29"})  # with ip6tables (26 asked to): NAT66
FROM_28 = frozenset({"28", "29"})  # gateway modes, IPv6-only networks
BACKENDS = ("iptables", "nftables")  # Docker 29's firewall backends (dockerd --firewall-backend)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    summary: str
    expected_failures: frozenset[str] = frozenset()
    # how the site differs from healthy, applied in this order (none: the healthy site)
    faults: tuple[Fault, ...] = ()
    # Docker generations the scenario means something on (`python -m lab up --docker`)
    generations: frozenset[str] = ALL_GENERATIONS
    # where a generation fails other checks than `expected_failures`, and why
    expected_by_generation: Mapping[str, frozenset[str]] = field(default_factory=dict)
    differs_because: Mapping[str, str] = field(default_factory=dict)
    # the checks whose failures the report must lead with as causes (each cause's first
    # member); every other failure is a symptom of one of them. A healthy run has none.
    root_causes: frozenset[str] = frozenset()
    root_causes_by_generation: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def backends(self) -> tuple[str, ...]:
        """The firewall backends it runs on where Docker has a choice (29): both where a
        fault touches the firewall or Docker's rules (and healthy), else Docker's default."""
        if not self.faults or any(f.firewall for f in self.faults):
            return BACKENDS
        return BACKENDS[:1]

    def expected_on(self, generation: str) -> frozenset[str]:
        return self.expected_by_generation.get(generation, self.expected_failures)

    def causes_on(self, generation: str) -> frozenset[str]:
        return self.root_causes_by_generation.get(generation, self.root_causes)

    def site(self) -> Site:
        """The settings the lab builds this scenario's site from: healthy, then each fault."""
        site = Site()
        for fault in self.faults:
            fault.site(site)
        return site

    def networks(self, site: Site, docker_major: int) -> Networks:
        """The networks the lab creates on a dockerd of ``docker_major``: v6net, then each
        fault's changes."""
        networks = site.networks()
        for fault in self.faults:
            fault.networks(networks, docker_major)
        return networks

    def host_changes(
        self,
        site: Site,
        docker_writes_ip6tables: bool,
        firewall_backend: str | None = None,
        nft: tuple[str, ...] = ("nft",),
        firewall_cmd: tuple[str, ...] = ("firewall-cmd",),
    ) -> HostChanges:
        """The host's (and upstream's) last changes, once dockerd has made its own."""
        changes = HostChanges(docker_writes_ip6tables, firewall_backend, nft, [], firewall_cmd)
        for fault in self.faults:
            fault.host(changes, site)
        return changes

    @property
    def workloads(self) -> int:
        """How many workload containers ``up`` starts."""
        return self.site().workloads.count

    @property
    def workloads_without_route(self) -> int:
        return self.site().workloads.without_route

    @property
    def workloads_bad_resolv(self) -> int:
        return self.site().workloads.bad_resolv


# Where containers cannot reach the lab's IPv6 nameserver, their DNS breaks too: the default
# bridge's resolver waits 5 s on it before it tries the IPv4 one (DNS-03), it is an unreachable
# line of the containers' resolv.conf (RC-01), and of the build steps' (RC-02). The catalog's
# first list named only the RT-* checks for these scenarios; these follow from them and are
# asserted as well.
DNS_THROUGH_BROKEN_PATH = frozenset({"DNS-03", "RC-01", "RC-02"})
# ... and the published services, reached from the containers over IPv6 (EP-03: "works over
# IPv4 only" from where the path is broken)
THROUGH_BROKEN_PATH = DNS_THROUGH_BROKEN_PATH | {"EP-03"}
# a router that took the host's default route and leads nowhere: everything beyond the uplink,
# from the host (its nameserver, the RDNSS server, the endpoints) and from the containers
ROGUE_BREAKS = frozenset({"RT-01", "RT-02", "DNS-01", "RA-03", "EP-02"}) | THROUGH_BROKEN_PATH
# on 20.10 and 26 (no ip6tables) the networks are routed: RT-05 fails too
ROGUE_BY_GENERATION = {g: ROGUE_BREAKS | {"RT-05"} for g in ("20.10", "26")}
ROGUE_ROUTED_BECAUSE = {
    g: f"on {g} (no ip6tables) the networks are routed: the far end reaches the containers "
    "through the upstream, and their answers leave by the rogue (RT-05)"
    for g in ("20.10", "26")
}

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "healthy",
            "nothing is broken; each network in its Docker's default IPv6 mode (routed up to "
            "26 without ip6tables, masqueraded from 27 on)",
        ),
        Scenario(
            "routed-mode",
            "healthy, with v6net in Docker's routed gateway mode (gateway_mode_ipv6=routed): "
            "its containers are reached directly from the far end",
            faults=(RoutedGatewayMode(),),
            generations=FROM_28,
        ),
        Scenario(
            "nat66",
            "Docker masquerades container IPv6 (NAT66: 28's default, 26 with ip6tables) while "
            "the site's profile asks for routed IPv6",
            frozenset({"RT-06"}),
            faults=(Ip6tables(), ProfileWants(ipv6_mode="routed")),
            generations=FROM_26,
            # one cause per masqueraded network: each network's mode is its own setting
            root_causes=frozenset({"RT-06"}),
        ),
        Scenario(
            "ula-pool",
            "no IPv6 pool configured: Docker allocates ULA subnets (fd00::/8) from its own pool, "
            "masqueraded; healthy for a site that allows NAT and IPv4 first (its profile's "
            '[family] prefer = "any": AF-01 reports the family, judges nothing)',
            faults=(UlaPool(), ProfileWants(family="any")),
            generations=FROM_28,
        ),
        Scenario(
            "af-ula",
            "as ula-pool (ULA subnets from Docker's own pool, NAT66), with a profile that wants "
            "applications on IPv6: RFC 6724 ranks IPv4 above a ULA source (glibc: Rule 5, "
            "label), so getaddrinfo puts the A record first and applications use IPv4",
            frozenset({"AF-01"}),
            faults=(UlaPool(),),
            generations=FROM_28,
            # one cause: the daemon's ULA /48, every network's subnet carved from it
            root_causes=frozenset({"AF-01"}),
        ),
        Scenario(
            "ipv6-only",
            "healthy, plus an IPv6-only network v6only (--ipv4=false) whose containers resolve "
            "through the embedded DNS server",
            faults=(RoutedGatewayMode(), Ipv6OnlyNetwork()),
            generations=FROM_28,
        ),
        Scenario(
            "internal-network",
            "healthy, plus a network isonet created --internal (compose's internal: true) beside "
            "the ordinary ones: isolated on purpose, so what needs the outside does not apply "
            "there, nothing there is broken, and v6net is judged as before",
            faults=(InternalNetwork(),),
        ),
        Scenario(
            "networkd-uplink",
            "healthy, with the uplink run as systemd-networkd runs it (Ubuntu's netplan default): "
            "the kernel takes no Router Advertisements there (accept_ra 0), the daemon installs "
            "the default route it learnt from them (proto ra), forwarding on per interface",
            faults=(UplinkFromUserspace(),),
        ),
        Scenario(
            "two-routers",
            "healthy, with a second router on the uplink segment (its own radvd, default "
            "route at high preference, so the host routes by it) that forwards on through the "
            "upstream: a redundant uplink, nothing broken",
            faults=(SecondRouterOnUplink(forwards=True),),
        ),
        Scenario(
            "rogue-router",
            "a second router on the uplink segment announces a default route at high "
            "preference (RFC 4191) and the host's kernel takes it, but it has no route beyond "
            "the segment: the host's and the containers' packets via it vanish or come back "
            "unreachable (the host knows the path's MTU only by its default route)",
            ROGUE_BREAKS,
            # PathMtuUnknownToHost: a more specific route of the host's own (the lab's route
            # carrying the path's MTU) would pass the rogue by; once it is removed, on 26+
            # with ip6tables PMTU-03 finds the host refragmenting (the fix proof's 2nd round)
            faults=(SecondRouterOnUplink(forwards=False), PathMtuUnknownToHost()),
            expected_by_generation=ROGUE_BY_GENERATION,
            differs_because=ROGUE_ROUTED_BECAUSE,
            # one cause: RT-01 finds the router the kernel routes by and that it leads
            # nowhere; every failure beyond the uplink follows from the route it took
            root_causes=frozenset({"RT-01"}),
        ),
        Scenario(
            "rogue-router-no-mac",
            "rogue-router, with the rogue's RAs carrying no source link-layer address (the "
            "option is optional, RFC 4861 4.2): the kernel learns its MAC by Neighbor "
            "Solicitation and routes by it all the same, and RT-01 must find it so too",
            ROGUE_BREAKS,
            faults=(
                SecondRouterOnUplink(forwards=False, source_lladdr=False),
                PathMtuUnknownToHost(),
            ),
            expected_by_generation=ROGUE_BY_GENERATION,
            differs_because=ROGUE_ROUTED_BECAUSE,
            root_causes=frozenset({"RT-01"}),
        ),
        Scenario(
            "unrouted-prefix",
            "the container prefixes sit inside the uplink's on-link /64 and the upstream router "
            "has no route to the host for them (the provider case)",
            frozenset({"RT-02", "RT-03", "RT-05"}) | THROUGH_BROKEN_PATH,
            faults=(PrefixOnLink(), RoutedGatewayMode()),
            expected_by_generation={
                g: frozenset({"RT-02", "RT-03", "RT-05", "EP-03"}) for g in FROM_28
            },
            differs_because={
                g: f"docker0 is masqueraded on {g} (its gateway mode cannot be set), so the "
                "default bridge's containers and build steps reach the nameserver through NAT, "
                "and v6net's embedded DNS asks it from the host's namespace: only the routed "
                "v6net's own reachability breaks"
                for g in FROM_28
            },
            # one cause: the upstream treats the uplink's /64, container prefixes and all, as
            # on-link; every RT-02/05 and DNS failure follows from the path it breaks
            root_causes=frozenset({"RT-03"}),
        ),
        Scenario(
            "ndp-proxy",
            "as unrouted-prefix, with proxy_ndp=1 and proxy entries on the host's uplink: the fix",
            faults=(PrefixOnLink(), NdpProxy(), RoutedGatewayMode()),
        ),
        Scenario(
            "forwarding-off",
            "host IPv6 forwarding is off",
            frozenset({"RT-01", "RT-02", "RT-05"}) | THROUGH_BROKEN_PATH,
            faults=(ForwardingOff(), RoutedGatewayMode()),
            root_causes=frozenset({"RT-01"}),
        ),
        Scenario(
            "firewalld",
            "healthy, with firewalld managing the host's firewall (Debian's, on a D-Bus bus of "
            "the lab's own): Docker puts its bridges into firewalld's zone docker and says "
            "FirewallBackend …+firewalld",
            faults=(Firewalld(),),
            # 28 and 29 only: their /info says "+firewalld" and Docker adds the policy
            # docker-forwarding (ANY -> docker). Run on 26 (firewalld 2.5, Docker 26.1.5) the
            # same site fails RT-04/RT-05 (firewalld's filter_FWD_public_to_docker rejects
            # inbound new to the routed bridge: no such policy there) and PMTU-03 (firewalld's
            # conntrack reassembles; the lab locks the route's MTU only where Docker writes
            # ip6tables): findings about 26 under firewalld, not a healthy site
            generations=FROM_28,
        ),
        Scenario(
            "firewalld-egress-drop",
            "firewalld manages the host's firewall, and a policy of the site's from Docker's "
            "zone docker to the uplink's zone public has target DROP: the containers' own "
            "connections out are dropped",
            frozenset({"RT-02", "RT-04"}) | THROUGH_BROKEN_PATH,
            faults=(Firewalld(), FirewalldEgressDrop()),
            generations=FROM_28,
            # one cause: the policy's drop, whichever network meets it
            root_causes=frozenset({"RT-04"}),
        ),
        Scenario(
            "forward-drop",
            "host ip6tables drops forwarded container traffic (FORWARD policy DROP; where Docker "
            "manages ip6tables, whose rules accept container traffic first, a DROP rule from "
            "the uplink in DOCKER-USER)",
            frozenset({"RT-02", "RT-04", "RT-05"}) | THROUGH_BROKEN_PATH,
            faults=(ForwardDrop(), RoutedGatewayMode()),
            # one cause, found on each network: the one rule or policy that drops
            root_causes=frozenset({"RT-04"}),
        ),
        Scenario(
            "pmtu-blackhole",
            "the host's firewall drops ICMPv6 Packet Too Big toward the containers (a forward "
            f"rule of the site's), while the path beyond the upstream carries {T.PATH_MTU} bytes: "
            "small packets pass, full-size ones vanish",
            frozenset({"PMTU-01", "PMTU-02", "RT-04"}),
            faults=(PacketTooBigDropped(at="host"), PathMtuUnknownToHost()),
            # one cause: the rule, found by RT-04 on each network; PMTU-01 saw the Packet Too Big
            # arrive on the uplink and not in the container, PMTU-02 follows
            root_causes=frozenset({"RT-04"}),
        ),
        Scenario(
            "pmtu-upstream",
            "the upstream router sends no ICMPv6 Packet Too Big (its own are dropped) for the "
            f"{T.PATH_MTU}-byte path beyond it: the black hole is beyond the uplink, the host's "
            "firewall is fine",
            frozenset({"PMTU-01", "PMTU-02"}),
            faults=(PacketTooBigDropped(at="upstream"), PathMtuUnknownToHost()),
            # one cause: PMTU-01 finds the black hole beyond the uplink on each network (the
            # request left, no Packet Too Big came back); PMTU-02 follows on each
            root_causes=frozenset({"PMTU-01"}),
        ),
        Scenario(
            "pmtu-refragment",
            f"the path beyond the upstream carries {T.PATH_MTU} bytes, and this host, whose "
            "Docker writes ip6tables rules (26 with ip6tables, 27 and later: bridge netfilter "
            "reassembles container fragments), does not know it: containers learn the MTU, but "
            "their fragmented datagrams leave the host refragmented at 1500",
            frozenset({"PMTU-03"}),
            faults=(Ip6tables(), PathMtuUnknownToHost()),
            generations=FROM_26,
            # one cause: the host's refragmenting, met by each network's containers
            root_causes=frozenset({"PMTU-03"}),
        ),
        Scenario(
            "pmtu-two-hops",
            f"healthy, over a path with two links narrower than the uplink beyond it: the "
            f"upstream's next link carries {T.FIRST_HOP_MTU} bytes, a transit router's beyond it "
            f"{T.PATH_MTU}, and each router sends its own Packet Too Big (on 20.10 and 26 "
            "without ip6tables the containers meet both in turn; where Docker writes ip6tables "
            "rules the host reassembles their fragments, and a healthy host then locks its "
            f"route's MTU at the path's, {T.PATH_MTU}: its own Packet Too Big is the one they "
            "meet)",
            faults=(TwoNarrowHops(),),
        ),
        Scenario(
            "pmtu-far-blackhole",
            f"the path has two narrower hops ({T.FIRST_HOP_MTU} at the upstream's next link, "
            f"{T.PATH_MTU} at a transit router's beyond it) and the farther router sends no "
            "Packet Too Big: packets sized to the first hop's MTU vanish beyond it (where Docker "
            f"writes ip6tables rules the host locks its route at {T.FIRST_HOP_MTU}, the MTU it "
            "knows, and the same packets vanish)",
            frozenset({"PMTU-01", "PMTU-02"}),
            faults=(FarPacketTooBigDropped(),),
            # one cause: PMTU-01 finds the black hole beyond the hop that said its MTU, on
            # each network; PMTU-02 follows on each
            root_causes=frozenset({"PMTU-01"}),
        ),
        Scenario(
            "no-rdnss",
            "Router Advertisements carry no RDNSS (and no DNSSL)",
            # RA-04 is added to the catalog's first list: the lab's profile expects the DNSSL
            # domain, which these RAs lack too (a missing RDNSS is RA-02's finding alone)
            frozenset({"RA-02", "RA-04"}),
            faults=(NoRdnss(),),
            # two independent faults: no RDNSS (RA-02), no DNSSL where the profile wants one
            root_causes=frozenset({"RA-02", "RA-04"}),
        ),
        Scenario(
            "dns-no-aaaa",
            "the zone lacks the AAAA records of the names the profile expects",
            # and www is a published endpoint too: EP-01 on its name, reached over IPv4 only
            # from the host (EP-02) and the containers (EP-03); one fault, the name's records
            frozenset({"DNS-02", "DNS-03", "EP-01", "EP-02", "EP-03"}),
            faults=(ZoneWithoutAaaa(),),
            # each missing name is a cause of its own; DNS-03's failures follow from them
            root_causes=frozenset({"DNS-02"}),
        ),
        Scenario(
            "dns-v6-down",
            "the DNS server does not answer over IPv6 (it listens on IPv4 only)",
            # DNS-03 is not listed: the lab's containers also have the IPv4 nameserver and their
            # resolver moves on to it at once (the IPv6 one answers port unreachable), so
            # resolution inside them still succeeds. RC-01 and RC-02 are added: the containers
            # on the default bridge and the build steps list that dead IPv6 nameserver.
            frozenset({"DNS-01", "RA-03", "RC-01", "RC-02"}),
            faults=(DnsOverIpv4Only(),),
            # the nameserver, found silent from the host (DNS-01, resolv.conf's and the RDNSS
            # item); RA-03, RC-01 and RC-02 follow
            root_causes=frozenset({"DNS-01"}),
        ),
        Scenario(
            "dns64",
            "the resolver synthesizes AAAA (DNS64, NAT64 prefix 2001:db8:64::/96) though the "
            "site has no NAT64 and its profile expects none",
            frozenset({"DNS-04"}),
            faults=(Dns64(),),
            root_causes=frozenset({"DNS-04"}),
        ),
        Scenario(
            "nat64",
            "an IPv6-only site's way to IPv4: DNS64 and a real NAT64 (tayga, prefix "
            f"{T.NAT64_PREFIX}) beside the resolver, and on Docker 28 an IPv6-only network "
            f"v6only; the profile wants {T.IPV4_ONLY_NAME} (A only) reached through them",
            faults=(Dns64(), Nat64(), ProfileWants(dns64=True, ipv4_only=True), Ipv6OnlyNetwork()),
        ),
        Scenario(
            "nat64-down",
            "as nat64, with the resolver's DNS64 but no working NAT64 behind it: the "
            "synthesized addresses lead nowhere",
            frozenset({"NAT64-01"}),
            faults=(Dns64(), ProfileWants(dns64=True, ipv4_only=True), Ipv6OnlyNetwork()),
            # one cause: the missing translator, found from every network's container
            root_causes=frozenset({"NAT64-01"}),
        ),
        Scenario(
            "a-only-trap",
            f"an IPv6-only network v6only and a profile that wants {T.IPV4_ONLY_NAME} (A "
            "only) reached, with no DNS64: the name works only through A",
            frozenset({"DNS-05", "NAT64-01"}),
            faults=(RoutedGatewayMode(), Ipv6OnlyNetwork(), ProfileWants(ipv4_only=True)),
            generations=FROM_28,
            # one cause: the name has no AAAA, native or synthesized (DNS-05 on v6only, and
            # NAT64-01 from every network, found the same)
            root_causes=frozenset({"DNS-05"}),
        ),
        Scenario(
            "apex-no-aaaa",
            f"the zone apex {T.ZONE}, a published endpoint, has an A record and no AAAA (the "
            "zone apex fight of the field notes: no CNAME may stand there to lend it one)",
            # EP-01 on the name; from the host and the containers it is reached over IPv4 only
            frozenset({"EP-01", "EP-02", "EP-03"}),
            faults=(ApexWithoutAaaa(),),
            root_causes=frozenset({"EP-01"}),
        ),
        Scenario(
            "endpoint-v4-only",
            f"shop.{T.ZONE} publishes a stale AAAA: its address answers nothing (no one has it; "
            "packets to it vanish), so the endpoint works over IPv4 only",
            frozenset({"EP-02", "EP-03"}),
            faults=(StaleAaaa(f"shop.{T.ZONE}"),),
            # one cause: the service at shop's IPv6 address, silent from the host first
            root_causes=frozenset({"EP-02"}),
        ),
        Scenario(
            "build-resolv",
            "the host's resolv.conf lists only an IPv6 nameserver and the default bridge "
            "(where builds run) has no IPv6",
            # Added to the catalog's first list, as Docker 20.10 really behaves: RC-01, because the
            # default bridge's containers get the public fallback (unreachable here), and on
            # v6net the embedded DNS (127.0.0.11) has no IPv4 upstream and never answers; DNS-03,
            # because glibc then waits 5 s on 127.0.0.11 before it asks the IPv6 server.
            frozenset({"RC-01", "RC-02", "RC-03", "DNS-03"}),
            faults=(DefaultBridgeWithoutIpv6(), HostNameservers((T.DNS6,))),
            expected_by_generation={g: frozenset({"RC-01", "RC-02", "RC-03"}) for g in NEWER},
            differs_because={
                g: "from 26 on, v6net's embedded DNS reaches the IPv6 nameserver (26: from the "
                "container over v6net's IPv6, 28: from the host's namespace), so its resolver "
                "does not wait on 127.0.0.11 and DNS-03 passes"
                for g in NEWER
            },
            # the default bridge has no IPv6 but its nameservers are IPv6: BuildKit's step
            # (RC-02) and Docker's public fallback (RC-03) find it; RC-01 and the classic
            # builder's step follow. On 20.10 v6net's embedded DNS has no upstream it can use
            # (it forwards over IPv4 only): a second cause, RC-01 on v6net, with DNS-03 after it
            root_causes=frozenset({"RC-02"}),
            root_causes_by_generation={"20.10": frozenset({"RC-01", "RC-02"})},
        ),
        Scenario(
            "big-firewall",
            "healthy, with a blocklist of 10,000 rules (fail2ban's shape) in the site's forward "
            "chain that rejects only prefixes the lab never uses: the firewall checks read and "
            "judge it in time, and pass",
            faults=(BigFirewall(10_000),),
        ),
        Scenario(
            "workloads",
            "healthy, plus 6 of the host's own (workload) containers spread over its IPv6 "
            "networks: one without an IPv6 default route, one whose resolv.conf names a "
            "nameserver nothing serves",
            # the route-less one (on v6net) has no default route (GW-02) and cannot reach the
            # anchors (RT-02); its gateway still answers, on-link (GW-03 passes), and so does
            # its resolver, Docker's embedded DNS over loopback (on 20.10, which lists the
            # host's IPv6 nameserver beside it, unreachable, RC-01 fails on it too); the
            # other's (on the default bridge) only nameserver never answers (RC-01)
            frozenset({"GW-02", "RT-02", "RC-01"}),
            faults=(WorkloadContainers(6, without_route=1, bad_resolv=1),),
            # two independent faults, one per broken workload: the route-less one's GW-02
            # (its RT-02 and, on 20.10, RC-01 follow) and the other's silent nameserver
            root_causes=frozenset({"GW-02", "RC-01"}),
        ),
        Scenario(
            "af-proxy",
            "dockerd's userland proxy on (Docker's default) and a container on a network without "
            f"IPv6 ({T.V4NET_NETWORK}) whose port is published on the host: IPv6 clients reach "
            "it through docker-proxy, and it sees the gateway's address, not theirs",
            # the healthy site's published service on v6net keeps its clients where Docker
            # DNATs it (ip6tables: 27 and later); on 20.10 and 26, which write no ip6tables
            # rules, the proxy carries that one too and it loses them as well (AF-02 either way)
            frozenset({"AF-02"}),
            faults=(UserlandProxy(), PublishedWithoutIpv6()),
            # one cause per way the client is lost: v4net's missing IPv6 (and on 20.10 and 26
            # the missing ip6tables rules, a second)
            root_causes=frozenset({"AF-02"}),
        ),
        Scenario(
            "hostile-text",
            "the host's resolv.conf carries markup and quotes, as a hostile or broken host "
            "could: the reports must show them as text, inert",
            # the nameserver line that is no address is DNS-01's finding; Docker 20.10 copies it
            # as it is into the default bridge's containers (RC-01) and build steps (RC-02),
            # where busybox's nslookup then fails on it (v6net's containers use 127.0.0.11)
            frozenset({"DNS-01", "RC-01", "RC-02"}),
            faults=(
                HostResolvLine(
                    """nameserver <script>alert("v6c")</script>'"><img src=x onerror=alert(1)>"""
                ),
            ),
            expected_by_generation={g: frozenset({"DNS-01"}) for g in NEWER},
            differs_because={
                g: "Docker 26 and later parse the host's resolv.conf and leave a nameserver "
                "line that is no address out of containers' and build steps' resolv.conf"
                for g in NEWER
            },
            # the host's broken line; on 20.10 the copies of it in RC-01 and RC-02 follow
            root_causes=frozenset({"DNS-01"}),
        ),
    )
}
