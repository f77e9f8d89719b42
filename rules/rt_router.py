"""RT-01's second question: where two or more routers announce a default route on the uplink,
does the one the host's kernel routes by lead on?

A redundant uplink (two routers, each forwarding) is healthy whichever the kernel picks. What
tells a router that took the default route and leads nowhere (a rogue, a misplugged or
half-configured one) from a second legitimate one is its path: an echo to the anchors sent
through it alone is never answered (it is silent, or an ICMPv6 error comes back), while one sent
through another advertising router is. Only then does RT-01 fail, naming the router (its
link-local address, its MAC, its preference and lifetime against the other's) and that the
kernel chose it. Where no router leads on, the break is beyond the uplink: not this check's.
"""

from __future__ import annotations

from collections.abc import Sequence

from probes.router_advert import RouterAdvert
from probes.router_path import KernelRoute, ViaRouter
from rules.judgement import Fix, Judgement, fact, failed

# the fact a router that took the host's default route and leads nowhere breaks: what the
# host's own packets beyond the uplink (its nameservers, endpoints) need
DEFAULT_ROUTE = fact("default-router", "this host")


def _router_line(ad: RouterAdvert, leads: bool | None, chosen: bool) -> str:
    how = {True: "leads on", False: "leads nowhere", None: "not tried (no MAC in its RA)"}[leads]
    return (
        f"  {ad.source} ({ad.source_lladdr or 'MAC unknown'}): preference {ad.preference}, "
        f"router lifetime {ad.router_lifetime} s; {how}"
        + ("; the kernel routes the anchors by it" if chosen else "")
    )


def judge_default_router(
    forwarding: Judgement,
    *,
    uplink: str | None,
    adverts: Sequence[RouterAdvert],
    chosen: Sequence[KernelRoute],
    via: Sequence[ViaRouter],
    unseen: str | None,
) -> Judgement:
    """RT-01 once forwarding passed (``forwarding``): fails when the router the kernel routes
    the anchors by leads nowhere while another advertising router leads on. ``adverts``: the
    RAs with a default route (router lifetime > 0) the host keeps; ``chosen``: the kernel's
    route per anchor; ``via``: an echo per router and anchor through that router alone;
    ``unseen``: why nothing was tried (one router, no anchors…), else None."""
    if not forwarding.ok:
        return forwarding
    if unseen is not None:
        return Judgement(
            "pass",
            forwarding.diagnosis,
            (*forwarding.evidence, f"default routers: {unseen}"),
        )
    tried = {v.router for v in via}
    leads = {ad.source: any(v.leads_on for v in via if v.router == ad.source) for ad in adverts}
    picked = {c.gateway for c in chosen if c.gateway}
    evidence = (
        *forwarding.evidence,
        f"routers announcing a default route on {uplink} (their RAs):",
        *(
            _router_line(ad, leads[ad.source] if ad.source in tried else None, ad.source in picked)
            for ad in adverts
        ),
        "the kernel's choice:",
        *(f"  {c.line()}" for c in chosen),
        "echoes through each router alone:",
        *(f"  {v.line()}" for v in via),
    )
    working = [ad for ad in adverts if ad.source in tried and leads[ad.source]]
    dead = [
        ad for ad in adverts if ad.source in picked and ad.source in tried and not leads[ad.source]
    ]
    if not dead:
        led = {ad.source for ad in working}
        if not working:
            say = "; no advertising router led on: the break is beyond the uplink (RT-02, RT-03)"
        elif picked and picked <= led:
            say = f"; the kernel routes the anchors by {', '.join(sorted(picked))}, which leads on"
        else:
            say = (
                f"; the kernel routes the anchors by {', '.join(sorted(picked)) or 'no router'} "
                "(a route of its own, not an advertising router's)"
            )
        return Judgement("pass", forwarding.diagnosis + say, evidence)
    rogue, good = dead[0], working[0] if working else None
    if good is None:
        return Judgement(
            "pass",
            forwarding.diagnosis
            + "; no advertising router led on: the break is beyond the uplink (RT-02, RT-03)",
            evidence,
        )
    how = "; ".join(
        sorted(
            {
                v.detail if v.outcome == "error" else "no answer"
                for v in via
                if v.router == rogue.source
            }
        )
    )
    mac = f" ({rogue.source_lladdr})" if rogue.source_lladdr else ""
    return failed(
        f"a second router on {uplink}, {rogue.source}{mac}, took this host's default route and "
        f"leads nowhere: the kernel routes the anchors by it (preference {rogue.preference}, "
        f"lifetime {rogue.router_lifetime} s, against {good.source}'s {good.preference}, "
        f"{good.router_lifetime} s), and echoes sent through it got {how}, while through "
        f"{good.source} they were answered",
        evidence,
        fix=Fix(
            f"the uplink's network must not carry its adverts: take {rogue.source}{mac} off the "
            "segment, or turn on RA Guard (RFC 6105) on the switch port it is on. On this host "
            f"now: drop Router Advertisements from it on {uplink} and remove the default route "
            f"it installed ({good.source} then carries the host's traffic); keep the rule in the "
            "host's firewall configuration until the network is fixed",
            (
                f"ip6tables -I INPUT -i {uplink} -s {rogue.source} -p ipv6-icmp "
                "--icmpv6-type router-advertisement -j DROP",
                f"ip -6 route del default via {rogue.source} dev {uplink}",
            ),
        ),
        hop="uplink",
        breaks=(DEFAULT_ROUTE, fact("path", "*")),
    )
