"""RT-01's second question: where two or more routers announce a default route on the uplink,
does the one the host's kernel routes by lead on?

A redundant uplink (two routers, each forwarding) is healthy whichever the kernel picks. What
tells a router that took the default route and leads nowhere (a rogue, a misplugged or
half-configured one, or the site's own router broken while a backup works) from one that
leads on is its path: an echo to the anchors sent through it alone is never answered (it is
silent, or an ICMPv6 error comes back), while one sent through another advertising router is.
Only then does RT-01 fail, naming the router (its link-local address, its MAC, its preference
and lifetime against the other's) and that the kernel chose it. Where no router leads on, the
break is beyond the uplink: not this check's.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from probes.router_advert import RouterAdvert
from probes.router_path import KernelRoute, ViaRouter
from rules.judgement import Fix, Judgement, fact, failed

# the fact a router that took the host's default route and leads nowhere breaks: what the
# host's own packets beyond the uplink (its nameservers, endpoints) need
DEFAULT_ROUTE = fact("default-router", "this host")


def _mac(ad: RouterAdvert, via: Sequence[ViaRouter]) -> str | None:
    """A router's MAC: its RA's, else the one its echoes went to (its Neighbor Advertisement's)."""
    return ad.source_lladdr or next((v.mac for v in via if v.router == ad.source), None)


def _mac_said(ad: RouterAdvert, via: Sequence[ViaRouter]) -> str | None:
    """Its MAC, and where it comes from when not from its RA."""
    mac = _mac(ad, via)
    if mac is None or ad.source_lladdr:
        return mac
    return f"{mac}, from its Neighbor Advertisement: its RA carries none"


def _router_line(ad: RouterAdvert, mac: str | None, leads: bool | None, chosen: bool) -> str:
    how = {
        True: "leads on",
        False: "leads nowhere",
        None: "not tried (no MAC: none in its RA, and no Neighbor Advertisement)",
    }[leads]
    return (
        f"  {ad.source} ({mac or 'MAC unknown'}): preference {ad.preference}, "
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
    tool: str | None = "ip6tables",
) -> Judgement:
    """RT-01 once forwarding passed (``forwarding``): fails when the router the kernel routes
    the anchors by leads nowhere while another advertising router leads on. ``adverts``: the
    RAs with a default route (router lifetime > 0) the host keeps; ``chosen``: the kernel's
    route per anchor; ``via``: an echo per router and anchor through that router alone;
    ``unseen``: why nothing was tried (one router, no anchors…), else None; ``tool``: the
    firewall tool this host has (``ip6tables``, else ``nft``; None: neither was read, so the
    fix is in words)."""
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
            _router_line(
                ad,
                _mac_said(ad, via),
                leads[ad.source] if ad.source in tried else None,
                ad.source in picked,
            )
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
        elif untried := sorted(picked & {ad.source for ad in adverts} - tried):
            say = (
                f"; the kernel routes the anchors by {', '.join(untried)}, which could not be "
                "tried (no MAC: none in its RA, and no Neighbor Advertisement)"
            )
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
    said = f" ({_mac_said(rogue, via)})" if _mac(rogue, via) else ""
    mac = f" ({_mac(rogue, via)})" if _mac(rogue, via) else ""
    return failed(
        f"the router this host routes by on {uplink}, {rogue.source}{said}, leads nowhere while "
        f"another leads on: the kernel routes the anchors by it (preference {rogue.preference}, "
        f"lifetime {rogue.router_lifetime} s, against {good.source}'s {good.preference}, "
        f"{good.router_lifetime} s), and echoes sent through it got {how}, while through "
        f"{good.source} they were answered",
        evidence,
        fix=Fix(
            f"{rogue.source}{mac} announces a default route and forwards nothing. If it should "
            "not route this segment (a rogue or misplugged router), take it off the segment or "
            "turn on RA Guard (RFC 6105) on the switch port it is on; if it is the site's own "
            f"router, repair it. On this host now: drop Router Advertisements from it on "
            f"{uplink} and remove the default route it installed ({good.source}, which leads on, "
            "then carries the host's traffic); keep the rule in the host's firewall "
            "configuration until the network is fixed",
            ra_guard_commands(tool, uplink or "", rogue.source),
        ),
        hop="uplink",
        breaks=(DEFAULT_ROUTE, fact("path", "*")),
    )


RA_GUARD_TABLE = "v6conform_ra_guard"


def ra_guard_commands(tool: str | None, uplink: str, router: str) -> tuple[str, ...]:
    """The host's own drop of ``router``'s adverts on ``uplink`` and removal of the route it
    installed, for the firewall tool the host has: ip6tables' INPUT (a built-in chain, present
    wherever ip6tables is), else a table of the host's own on nftables' input hook. None: no
    tool was read, no command."""
    if tool is None or not uplink:
        return ()
    q = shlex.quote
    drop: tuple[str, ...]
    if tool == "ip6tables":
        drop = (
            f"ip6tables -I INPUT -i {q(uplink)} -s {q(router)} -p ipv6-icmp "
            "--icmpv6-type router-advertisement -j DROP",
        )
    else:
        chain = f"ip6 {RA_GUARD_TABLE} input"
        rule = f"iifname {json.dumps(uplink)} ip6 saddr {router} icmpv6 type nd-router-advert drop"
        drop = (
            f"nft add table ip6 {RA_GUARD_TABLE}",
            "nft "
            + q(f"add chain {chain} {{ type filter hook input priority -1; policy accept; }}"),
            "nft " + q(f"add rule {chain} {rule}"),
        )
    return (*drop, f"ip -6 route del default via {q(router)} dev {q(uplink)}")
