"""The DNS checks' survey parts: the host's nameservers and names asked once (DNS-01, DNS-02,
DNS-04), and each container's own resolver (DNS-03)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from probes import dns, dns64, resolver
from probes.errors import HarnessError
from probes.target import privileged
from rules.dns import (
    wanted_types,
)
from suites.plugin.keys import ANSWERS, CONTAINER_LOOKUPS, SITE_PART
from suites.plugin.nameservers import (
    configured_nameservers,
    liveness_question,
)
from suites.plugin.site import Site, caught, needs_root, resolver_deadline
from suites.plugin.survey import Survey, surveyed

TRANSPORTS: tuple[dns.Transport, ...] = ("udp", "tcp")


@dataclass(frozen=True, slots=True)
class Answers:
    """Every query of DNS-01, DNS-02 and DNS-04, asked at once so their timeouts overlap."""

    liveness: dict[str, dns.DnsResult]  # DNS-01: per IPv6 nameserver
    names: dict[tuple[str, str, str, str], dns.DnsResult]  # (name, type, server, transport)
    dns64: dict[str, dns64.Dns64Finding]  # DNS-04: per nameserver


@surveyed(ANSWERS)
async def answers(survey: Survey) -> Answers:
    """Every query of DNS-01, DNS-02 and DNS-04, from the host, at once."""
    target, pytestconfig = survey.target, survey.config
    if target.netns.path is not None and not privileged():
        needs_root(pytestconfig, "asking from the target's namespace needs setns")
    servers = [s.address for s in configured_nameservers(pytestconfig) if s.address]
    timeout = target.profile.timeout
    qname, qtype = liveness_question(target.profile)
    async with asyncio.TaskGroup() as tg:
        synth = {
            s: tg.create_task(dns64.discover(target.netns, s, timeout=timeout)) for s in servers
        }
        live = {
            s: tg.create_task(dns.query(target.netns, s, qname, qtype, timeout=timeout))
            for s in servers
            if ":" in s
        }
        named = {
            (n.name, t, s, tr): tg.create_task(
                dns.query(target.netns, s, n.name, t, transport=tr, timeout=timeout)
            )
            for n in target.profile.names
            for t in wanted_types(n)
            for s in servers
            for tr in TRANSPORTS
        }
    return Answers(
        {s: t.result() for s, t in live.items()},
        {k: t.result() for k, t in named.items()},
        {s: t.result() for s, t in synth.items()},
    )


@surveyed(CONTAINER_LOOKUPS)
async def container_lookups(survey: Survey) -> dict[str, resolver.ResolverReport | HarnessError]:
    """DNS-03: the profile's names through each probe container's own resolver, by network."""
    target = survey.target
    names = tuple(n.name for n in target.profile.names)
    if not names:
        return {}
    site: Site = await survey.get(SITE_PART)
    async with asyncio.TaskGroup() as tg:
        inside = {
            net: tg.create_task(
                caught(resolver.in_container(c, names, deadline=resolver_deadline(target)))
            )
            for net, c in site.containers.items()
        }
    return {n: t.result() for n, t in inside.items()}
