"""The routers on the host's uplink, as one survey part: one Router Solicitation (resent while
nothing answers), what answered within the window, and every RDNSS server announced, asked
once. The RA checks judge the adverts; DNS-01 and RA-03 judge the servers' answers."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

import pytest

from probes import dns, ifaddr, ndp, router_advert, router_path
from probes.router_advert import AnnouncedServer, RouterAdvert
from probes.router_path import KernelRoute, ViaRouter
from probes.router_solicit import RA_ANSWER_BOUND, Solicitation, solicit_routers
from probes.target import Target, privileged
from rules.gw import solicit_source
from rules.ra import kept_adverts
from suites.plugin.keys import DEFAULT_ROUTERS, ROUTERS
from suites.plugin.nameservers import liveness_question
from suites.plugin.site import find_uplink, needs_root
from suites.plugin.survey import Survey, surveyed


@dataclass(frozen=True, slots=True)
class RouterRound:
    solicitation: Solicitation
    default_gateways: tuple[str, ...]  # the host's IPv6 default routes' gateways on the uplink
    rdnss_answers: dict[str, dns.DnsResult]  # per advertised (unicast) server, without zone

    @property
    def kept(self) -> tuple[RouterAdvert, ...]:
        """Each router's latest RA, where hosts keep it (RFC 4861 6.1.2, and Linux)."""
        return kept_adverts(self.solicitation)

    @property
    def announced(self) -> tuple[AnnouncedServer, ...]:
        """The RDNSS servers of the RAs hosts keep: the nameservers such a host is given."""
        return router_advert.announced_servers(self.kept)


@surveyed(ROUTERS)
async def routers(survey: Survey) -> RouterRound:
    """One Router Solicitation on the uplink, what answered within the window, and each
    advertised RDNSS server asked the question DNS-01 asks."""
    target, pytestconfig = survey.target, survey.config
    if not privileged():
        needs_root(pytestconfig, "a Router Solicitation needs a raw ICMPv6 socket")
    uplink, snap = await find_uplink(target)
    if uplink is None:
        pytest.skip("no uplink: the host has no IPv6 default route and none was named (--uplink)")
    # the RFC's bound on a router's answer, or longer if the profile's timeout is
    window = max(target.profile.timeout, RA_ANSWER_BOUND)
    found = await solicit_routers(target.netns, uplink, window=window)
    servers = sorted({s for ra in found.valid for opt in ra.rdnss for s in opt.servers})
    qname, qtype = liveness_question(target.profile)
    async with asyncio.TaskGroup() as tg:
        asks = {
            s: tg.create_task(
                dns.query(
                    target.netns,
                    _with_zone(s, uplink),
                    qname,
                    qtype,
                    timeout=target.profile.timeout,
                )
            )
            for s in servers
            if _askable(s)
        }
    gateways = tuple(
        r.gateway for r in snap.default_routes() if r.interface == uplink and r.gateway
    )
    return RouterRound(found, gateways, {s: t.result() for s, t in asks.items()})


def _with_zone(server: str, uplink: str) -> str:
    """A link-local RDNSS server is on the link it was announced on: ask it there."""
    return f"{server}%{uplink}" if ipaddress.IPv6Address(server).is_link_local else server


def _askable(server: str) -> bool:
    """Only unicast servers are asked: a multicast or loopback one is RA-02's finding."""
    return router_advert.not_unicast(server) is None


@dataclass(frozen=True, slots=True)
class DefaultRouters:
    """Where two or more routers announce a default route on the uplink: the route the
    kernel picks per anchor, and an echo per router and anchor through that router alone
    (rules.rt_router judges them for RT-01). ``unseen``: why nothing was tried."""

    uplink: str | None
    adverts: tuple[RouterAdvert, ...]  # the kept RAs with a default route (lifetime > 0)
    chosen: tuple[KernelRoute, ...] = ()
    via: tuple[ViaRouter, ...] = ()
    unseen: str | None = None


@surveyed(DEFAULT_ROUTERS)
async def default_routers(survey: Survey) -> DefaultRouters:
    """The routers the RA exchange found announcing a default route; with two or more, where
    each leads (nothing is sent with one: the kernel has no choice to make)."""
    found = await survey.maybe(ROUTERS)
    if isinstance(found, str):
        return DefaultRouters(None, (), unseen=f"not solicited ({found})")
    target = survey.target
    uplink = found.solicitation.interface
    adverts = tuple(ad for ad in found.kept if ad.router_lifetime > 0)
    if len(adverts) < 2:
        return DefaultRouters(
            uplink, adverts, unseen=f"{len(adverts)} router announces one on {uplink}"
        )
    anchors = target.profile.anchors
    if not anchors:
        return DefaultRouters(
            uplink, adverts, unseen="the profile names no anchors to try each router with"
        )
    _, snap = await find_uplink(target)
    source = next((a.address for a in snap.on(uplink) if a.usable and not a.link_local), None)
    if source is None:
        return DefaultRouters(
            uplink, adverts, unseen=f"this host has no usable global address on {uplink}"
        )
    timeout = target.profile.timeout

    async def through(ad: RouterAdvert) -> tuple[ViaRouter, ...]:
        mac = ad.source_lladdr or await _mac_by_solicit(target, uplink, ad.source, snap)
        if mac is None:
            return ()
        async with asyncio.TaskGroup() as tg:
            echoes = [
                tg.create_task(
                    router_path.echo_via(
                        target.netns,
                        uplink,
                        router=ad.source,
                        mac=mac,
                        source=source,
                        target=a,
                        timeout=timeout,
                    )
                )
                for a in anchors
            ]
        return tuple(t.result() for t in echoes)

    async with asyncio.TaskGroup() as tg:
        chosen = [tg.create_task(router_path.kernel_route(target.netns, a)) for a in anchors]
        via = [tg.create_task(through(ad)) for ad in adverts]
    return DefaultRouters(
        uplink,
        adverts,
        tuple(t.result() for t in chosen),
        tuple(v for t in via for v in t.result()),
    )


async def _mac_by_solicit(
    target: Target, uplink: str, router: str, snap: ifaddr.Snapshot
) -> str | None:
    """A router's MAC where its RA carries none (the option is optional, RFC 4861 4.2): what
    it answers a Neighbor Solicitation with, as the kernel learns it before routing by it."""
    link_local = solicit_source(snap.on(uplink))
    if link_local is None:
        return None
    iface = snap.interface(uplink)
    got = await ndp.solicit(
        target.netns,
        router,
        source=link_local.address,
        interface=uplink,
        source_mac=iface.mac if iface else None,
        timeout=target.profile.timeout,
    )
    return got.advert.target_lladdr if got.advert is not None else None
