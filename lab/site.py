"""What ``up`` builds, component by component: the healthy site's settings, which a scenario's
faults (lab.faults) change before the lab builds it.

Each part is one component's own configuration, in its own terms (radvd's options, unbound's
interfaces and zone, dockerd's flags, the host's resolv.conf, the profile the lab writes); the
lab's module for that component reads it and nothing else. Two parts depend on the dockerd that
runs, and are handed to the faults once it answers: its networks (``Networks``) and the host's
last changes (``HostChanges``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab import topology as T

# a zone record: (owner name, type, data)
Record = tuple[str, str, str]


def healthy_records() -> list[Record]:
    records = []
    for names in (T.ZONE_NAMES, T.ENDPOINT_NAMES):
        for name, (aaaa, a) in names.items():
            if aaaa:
                records.append((name, "AAAA", aaaa))
            if a:
                records.append((name, "A", a))
    return records


@dataclass
class Addressing:
    """The containers' IPv6 prefixes, and which of them the upstream routes to the host."""

    bridge6: str | None = T.ROUTED_BRIDGE6  # docker0's (--fixed-cidr-v6); None: Docker's pool
    net6: str | None = T.ROUTED_NET6  # v6net's; None: from Docker's pool
    # what the lab says its container prefix is; None: the /48 Docker's subnets came from
    container_prefix: str | None = T.ROUTED_CONTAINER_PREFIX
    routed_to_host: list[str] = field(default_factory=lambda: [T.ROUTED_CONTAINER_PREFIX])


@dataclass
class Router:
    """The upstream router's Router Advertisements on the host's link (radvd)."""

    rdnss: list[str] = field(default_factory=lambda: [T.DNS6])
    dnssl: list[str] = field(default_factory=lambda: list(T.DNSSL))


@dataclass
class SecondRouter:
    """A second router on the host's uplink segment, in its own namespace, with its own radvd
    announcing a default route (the upstream's RDNSS and DNSSL too, as a copy of the site's
    router configuration would), at ``preference`` (RFC 4191) so the host's kernel prefers it.
    ``forwards``: it leads on (its default route via the upstream: a redundant uplink); else
    it leads nowhere (no route beyond the segment: a rogue)."""

    forwards: bool
    preference: str = "high"
    # its RAs carry its MAC (the source link-layer option, optional: RFC 4861 4.2); without
    # it, a host learns the MAC by Neighbor Solicitation before it routes by the router
    source_lladdr: bool = True


@dataclass
class DnsServer:
    """The far end's DNS server (unbound): where it listens, DNS64, the lab's zone."""

    listen: list[str] = field(default_factory=lambda: [T.DNS6, T.DNS4])
    dns64_prefix: str | None = None  # synthesizes AAAA from this prefix (DNS64)
    records: list[Record] = field(default_factory=healthy_records)


@dataclass
class FarEnd:
    """The far end's services beside the DNS server: the published web addresses, NAT64."""

    # published addresses no one has (a stale AAAA): packets to them vanish
    stale: set[str] = field(default_factory=set)
    translator: bool = False  # a real NAT64 (tayga) for the DNS64 prefix


@dataclass
class Core:
    """The path beyond the upstream router: the MTUs of its links narrower than the uplink, in
    order. One: the upstream's own next link (the far end beyond it). Two: a transit router
    between them, each link narrower than the last, each router sending its own Packet Too
    Big."""

    hops: tuple[int, ...] = (T.PATH_MTU,)

    @property
    def path_mtu(self) -> int:
        return min(self.hops)


@dataclass
class Host:
    """The host's own settings that dockerd reads or is started with."""

    nameservers: list[str] = field(default_factory=lambda: [T.DNS6, T.DNS4])  # resolv.conf's
    resolv_extra: list[str] = field(default_factory=list)  # more lines for resolv.conf
    default_bridge_ipv6: bool = True  # dockerd --ipv6
    # asks for ip6tables where Docker leaves it off (26: with --experimental; 27 on: default)
    ip6tables: bool = False
    # dockerd's userland proxy (docker-proxy) for published ports: Docker's default is on, the
    # lab's off (every published port then goes by Docker's DNAT rules, where it writes them)
    userland_proxy: bool = False
    # the locked MTU of the host's route beyond the upstream (where Docker writes ip6tables:
    # bridge netfilter reassembles container fragments, the host refragments at its route's
    # MTU, PMTU-03); None: the host does not know the narrower hop
    path_mtu: int | None = T.PATH_MTU
    # firewalld manages the host's firewall (lab.firewalld: on a private bus dockerd is told of)
    firewalld: bool = False

    def docker_writes_ip6tables(self, major: int) -> bool:
        return major >= 27 or (self.ip6tables and major == 26)


@dataclass
class Profile:
    """What the profile the lab writes demands beyond what the lab provides."""

    ipv6_mode: str | None = None  # every IPv6 network's mode (RT-06); None: the one it has
    dns64: bool = False  # DNS64 must be there
    ipv4_only: list[str] = field(default_factory=list)  # IPv4-only names to reach (NAT64-01)
    # AF-01: the family applications should use ([family] prefer); None: the default (ipv6)
    family_prefer: str | None = None


@dataclass
class Workloads:
    """The host's own containers started at the end of ``up``, some broken on purpose."""

    count: int = 0
    without_route: int = 0  # no IPv6 default route
    bad_resolv: int = 0  # a resolv.conf naming a nameserver nothing serves


@dataclass
class PublishedService:
    """A container of the host's own that publishes a TCP port on the host (AF-02): busybox
    httpd on PUBLISHED_CONTAINER_PORT, published on ``host_port`` (every host address, both
    families, as `docker run -p` does)."""

    name: str
    network: str
    host_port: int


def healthy_published() -> list[PublishedService]:
    return [PublishedService("pub-web", T.USER_NETWORK, T.PUBLISHED_PORT)]


@dataclass
class Site:
    addressing: Addressing = field(default_factory=Addressing)
    router: Router = field(default_factory=Router)
    second_router: SecondRouter | None = None
    dns: DnsServer = field(default_factory=DnsServer)
    far_end: FarEnd = field(default_factory=FarEnd)
    core: Core = field(default_factory=Core)
    host: Host = field(default_factory=Host)
    profile: Profile = field(default_factory=Profile)
    workloads: Workloads = field(default_factory=Workloads)
    published: list[PublishedService] = field(default_factory=healthy_published)

    def networks(self) -> Networks:
        """The networks a healthy site creates on its dockerd: v6net."""
        return Networks([Network(T.USER_NETWORK, T.USER_BRIDGE, self.addressing.net6, T.NET4)])


@dataclass
class Network:
    """A user-defined network the lab creates on its dockerd."""

    name: str
    bridge: str
    subnet6: str | None  # None: from Docker's pool
    subnet4: str | None  # None: an IPv6-only network (Docker >= 28)
    internal: bool = False  # --internal: isolated from beyond the host on purpose
    ipv6: bool = True  # False: an IPv4-only network (no --ipv6)


@dataclass
class Networks:
    """The networks the lab creates once its dockerd answers (docker0 is dockerd's own)."""

    created: list[Network]
    gateway_mode_ipv6: str | None = None  # every created network's; None: Docker's default


SITE_TABLE = "site-firewall"  # a site's own nftables table, beside Docker 29's docker-bridges


@dataclass
class HostChanges:
    """The last of ``up``, once dockerd has set the host up its way: commands in the lab's
    namespaces (sysctls, firewall rules, ND proxy entries), in order."""

    docker_writes_ip6tables: bool
    # the lab's dockerd's firewall backend, as it says (Docker 29: "iptables" or "nftables")
    firewall_backend: str | None = None
    nft: tuple[str, ...] = ("nft",)  # the nft dockerd uses (its root's, chrooted, where it has one)
    commands: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    # firewall-cmd on the lab's firewalld (lab.firewalld: its root's, on the lab's bus)
    firewall_cmd: tuple[str, ...] = ("firewall-cmd",)

    @property
    def docker_nftables(self) -> bool:
        """Docker keeps its rules in nftables: no DOCKER-USER chain, a site's rules go into a
        table of its own on the hook (Docker's documentation for its nftables backend)."""
        return (self.firewall_backend or "").startswith("nftables")

    def run(self, role: str, *argv: str) -> None:
        self.commands.append((role, argv))

    def site_forward_rule(self, role: str, rule: str) -> None:
        """``rule`` in the site's own nftables table on the forward hook, before Docker's
        (``priority filter - 1``), as Docker's documentation tells sites on its nftables
        backend."""
        table = ("ip6", SITE_TABLE)
        chain = "{ type filter hook forward priority filter - 1 ; policy accept ; }"
        self.run(role, *self.nft, "add", "table", *table)
        self.run(role, *self.nft, "add", "chain", *table, "forward", chain)
        self.run(role, *self.nft, "insert", "rule", *table, "forward", rule)

    def sysctl(self, role: str, key: str, value: str | int) -> None:
        self.run(role, "sysctl", "-qw", f"{key}={value}")
