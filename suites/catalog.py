"""The check catalog as the reports show it: a short title, the reference a fix rests on, and
where on the path (container → bridge → host → uplink → upstream → far end) a failure of the
check usually breaks. README.md's check catalog states each requirement in full."""

from __future__ import annotations

from reports.results import CheckInfo

DOCKER_IPV6 = "Docker docs: Use IPv6 networking (docs.docker.com/engine/daemon/ipv6/)"
DOCKER_DNS = (
    "Docker docs: Container networking, DNS services (docs.docker.com/engine/network/#dns-services)"
)

CHECKS: dict[str, CheckInfo] = {
    "GW-01": CheckInfo("bridge carries the gateway", f"RFC 4291 §2.5.6; {DOCKER_IPV6}", "bridge"),
    "GW-02": CheckInfo(
        "container address and route", "RFC 4862 §5.4 (DAD); RFC 4861 §6.3.4", "container"
    ),
    "GW-03": CheckInfo(
        "gateway answers", "RFC 4861 §7.2 (address resolution); RFC 4443 §4.1", "bridge"
    ),
    "RT-01": CheckInfo(
        "forwarding, accept_ra and the default router",
        "RFC 4861 §6.2.1; RFC 4191 §3 (router preference); RFC 6105 (RA Guard); Linux "
        "ip-sysctl: forwarding, accept_ra (docs.kernel.org/networking/ip-sysctl.html)",
        "host",
    ),
    "RT-02": CheckInfo("anchors answer", "RFC 4443 §4.1 (echo)", "upstream"),
    "RT-03": CheckInfo(
        "prefix routed to the host",
        f"RFC 4389 (ND proxy); RFC 4861 §7.2; {DOCKER_IPV6}",
        "upstream",
    ),
    "RT-04": CheckInfo(
        "firewall forwards container traffic",
        "Docker docs: Packet filtering and firewalls "
        "(docs.docker.com/engine/network/packet-filtering-firewalls/)",
        "host",
    ),
    "RT-05": CheckInfo("far end reaches the container", "RFC 4443 §4.1; RFC 4861 §7.2", "upstream"),
    "RT-06": CheckInfo(
        "IPv6 mode as intended",
        "Docker docs: Packet filtering and firewalls, Gateway modes "
        "(docs.docker.com/engine/network/packet-filtering-firewalls/#gateway-modes); "
        "RFC 4193 (ULA)",
        "host",
    ),
    "PMTU-01": CheckInfo(
        "Packet Too Big reaches containers",
        "RFC 8201 §4, §5.2; RFC 4443 §3.2; RFC 4890 §4.3.1",
        "upstream",
    ),
    "PMTU-02": CheckInfo(
        "large TCP exchange completes", "RFC 8201 §5.4; RFC 9293 §3.7.1 (MSS)", "upstream"
    ),
    "PMTU-03": CheckInfo(
        "fragmented datagrams get through",
        "RFC 8200 §4.5, §5 (only the source fragments)",
        "host",
    ),
    "DNS-01": CheckInfo("nameserver answers over IPv6", "RFC 1035 §4.2; resolv.conf(5)", "far end"),
    "DNS-02": CheckInfo("name resolves to AAAA", "RFC 3596 §2; RFC 7766 (TCP)", "far end"),
    "DNS-03": CheckInfo(
        "container resolves names", "resolv.conf(5) (timeout, attempts)", "far end"
    ),
    "DNS-04": CheckInfo("DNS64 as expected", "RFC 7050; RFC 6147; RFC 6052 §2.2", "far end"),
    "DNS-05": CheckInfo(
        "IPv6-only network resolves to AAAA", "RFC 6147 §5.1 (DNS64); RFC 3596 §2", "far end"
    ),
    "NAT64-01": CheckInfo(
        "IPv4-only destinations through NAT64", "RFC 6146; RFC 6147; RFC 6052 §2.2", "far end"
    ),
    "EP-01": CheckInfo(
        "endpoint name dual-stack", "RFC 3596 §2; RFC 1034 §3.6.2; RFC 2181 §10.1", "far end"
    ),
    "EP-02": CheckInfo("endpoint answers from the host", "RFC 9293; RFC 9110 §15", "far end"),
    "EP-03": CheckInfo("endpoint answers from containers", "RFC 9293; RFC 9110 §15", "far end"),
    "RA-01": CheckInfo("router answers solicitation", "RFC 4861 §6.1.2, §6.2.6", "upstream"),
    "RA-02": CheckInfo("RDNSS well formed", "RFC 8106 §5.1, §5.3.1", "upstream"),
    "RA-03": CheckInfo("RDNSS servers answer", "RFC 8106 §5.1; RFC 1035", "far end"),
    "RA-04": CheckInfo("DNSSL and profile", "RFC 8106 §5.2, §5.3.1", "upstream"),
    "RA-05": CheckInfo("prefix information", "RFC 4861 §4.2, §4.6.2; RFC 4862 §5.5.3", "upstream"),
    "RC-01": CheckInfo("container nameservers reachable", DOCKER_DNS, "far end"),
    "RC-02": CheckInfo(
        "build step resolves",
        f'{DOCKER_DNS}; daemon.json "dns"; moby/buildkit#2936',
        "far end",
    ),
    "RC-03": CheckInfo("no public fallback", DOCKER_DNS, "container"),
    "AF-01": CheckInfo(
        "applications use the preferred family",
        "RFC 6724 §2.1, §6 (Rules 1, 2, 5, 6); RFC 4193 (ULA); RFC 8305 §5; gai.conf(5)",
        "bridge",
    ),
    "AF-02": CheckInfo(
        "client's address on published ports",
        "RFC 9293 §3.4 (a connection is its endpoints' pair of sockets); Docker docs: Packet "
        "filtering and firewalls, userland-proxy "
        "(docs.docker.com/engine/network/packet-filtering-firewalls/); moby/moby#17666",
        "host",
    ),
}
