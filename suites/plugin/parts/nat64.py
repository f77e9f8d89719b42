"""The NAT64 checks' survey part (NAT64-01, DNS-05): IPv4-only destinations through DNS64 and
NAT64, and the IPv6-only networks' own lookups."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from probes import dns, icmp6, nat64
from probes.docker import ProbeContainer
from probes.resolvconf import parse_resolv_conf
from probes.workloads import read_in_root
from suites.plugin.keys import NAT64_PATHS, SITE_PART
from suites.plugin.nameservers import configured_nameservers
from suites.plugin.site import Site, probe_source
from suites.plugin.survey import Survey, surveyed


@dataclass(frozen=True, slots=True)
class Nat64Survey:
    names: dict[str, nat64.Synthesis]  # the profile's ipv4_only names, as the host's resolvers say
    through: dict[str, dict[str, dict[str, icmp6.EchoResult]]]  # network -> name -> AAAA -> echo
    ipv4: dict[str, nat64.Echo4Result]  # each A record, echoed from the host over IPv4
    a_only: dict[str, dict[str, tuple[dns.DnsResult, dns.DnsResult]] | str]  # IPv6-only nets


def ipv6_only(site: Site) -> dict[str, ProbeContainer]:
    return {n: c for n, c in site.containers.items() if not c.network.enable_ipv4}


@surveyed(NAT64_PATHS)
async def nat64_paths(survey: Survey) -> Nat64Survey:
    """DNS64's answers for the IPv4-only names, echo to each synthesized address from every
    probe container and to each A record from the host; and, on IPv6-only networks, A and AAAA
    for every name the profile cares about through the container's own nameserver."""
    site: Site = await survey.get(SITE_PART)
    profile = site.target.profile
    timeout = profile.timeout
    servers = [s.address for s in configured_nameservers(survey.config) if s.address]
    host = site.target.netns
    async with asyncio.TaskGroup() as tg:
        asked = {
            (name, t, s): tg.create_task(dns.query(host, s, name, t, timeout=timeout))
            for name in profile.ipv4_only
            for t in ("AAAA", "A")
            for s in servers
        }
        trap = {n: tg.create_task(_a_only(site, n, c)) for n, c in ipv6_only(site).items()}
    names = {
        name: nat64.synthesis(name, [t.result() for (n, _, _), t in asked.items() if n == name])
        for name in profile.ipv4_only
    }
    sources = {net: probe_source(site, net) for net in site.containers}
    async with asyncio.TaskGroup() as tg:
        echoes = {
            (net, name, address): tg.create_task(
                icmp6.echo(c.netns, address, source=sources[net], timeout=timeout, count=2)
            )
            for net, c in site.containers.items()
            for name, s in names.items()
            for address in s.synthesized
        }
        v4 = {
            a: tg.create_task(nat64.echo4(host, a, timeout=timeout))
            for s in names.values()
            if s.synthesized
            for a in s.a
        }
    through: dict[str, dict[str, dict[str, icmp6.EchoResult]]] = {}
    for (net, name, address), task in echoes.items():
        through.setdefault(net, {}).setdefault(name, {})[address] = task.result()
    return Nat64Survey(
        names,
        through,
        {a: t.result() for a, t in v4.items()},
        {n: t.result() for n, t in trap.items()},
    )


def wanted_names(site: Site) -> tuple[str, ...]:
    profile = site.target.profile
    return tuple(dict.fromkeys([*(n.name for n in profile.names), *profile.ipv4_only]))


async def _a_only(
    site: Site, network: str, container: ProbeContainer
) -> dict[str, tuple[dns.DnsResult, dns.DnsResult]] | str:
    """A and AAAA for every name, from the IPv6-only container's namespace, asked of the first
    nameserver its own resolv.conf lists (read through /proc/PID/root: nothing runs in it)."""
    names = wanted_names(site)
    if not names:
        return "the profile names no names (names, ipv4_only) to resolve"
    try:
        raw = await asyncio.to_thread(read_in_root, container.pid)
    except OSError as exc:
        return f"{container.name}'s resolv.conf cannot be read: {exc.strerror or exc}"
    conf = parse_resolv_conf(raw, source=f"{container.name}: /etc/resolv.conf").checked()
    if not conf.used_nameservers:
        return f"{container.name}'s resolv.conf lists no nameserver (RC-01)"
    server = str(conf.used_nameservers[0])
    timeout = site.target.profile.timeout
    async with asyncio.TaskGroup() as tg:
        asks = {
            (name, t): tg.create_task(dns.query(container.netns, server, name, t, timeout=timeout))
            for name in names
            for t in ("A", "AAAA")
        }
    return {n: (asks[(n, "A")].result(), asks[(n, "AAAA")].result()) for n in names}
