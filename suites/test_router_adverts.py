"""Router Advertisement checks RA-*: does a router answer, and are its RDNSS, DNSSL and prefix
options sound (RFC 4861 as updated by RFC 8319, RFC 4862, RFC 8106)?

One Router Solicitation per session; every check judges what answered it, router by router.
Without any RA, RA-01 fails once and the others are skipped with that reason. An RA hosts
discard whole (RFC 4861 6.1.2, and Linux) fails RA-01 and is judged nowhere else; a broken
option in an RA hosts keep fails the check that owns the option: RA-02 RDNSS, RA-04 DNSSL,
RA-05 prefix information and MTU, RA-01 the rest (source link-layer address, advertisement
interval).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from probes import router_advert
from probes.errors import ProbeError
from probes.judgement import fact, nameserver_fact
from probes.router_advert import MalformedAdvert, RouterAdvert
from probes.target import Target
from reports.diagnosis import explain, first_of
from suites.plugin.routers import RouterRound

pytestmark = pytest.mark.rdnss


# the options RA-01 owns; RA-02, RA-04 and RA-05 report theirs (RDNSS and DNSSL have no fixed
# size: their length rules are rdnss_length_ok and dnssl_encoding_ok)
RA01_OPTIONS = (router_advert.OPT_SOURCE_LLADDR, router_advert.OPT_ADV_INTERVAL)
RA05_OPTIONS = (router_advert.OPT_PREFIX_INFO, router_advert.OPT_MTU)


def _need_adverts(rr: RouterRound) -> tuple[RouterAdvert, ...]:
    """Each router's latest RA that hosts keep, or skip: RA-01 has said why there is none."""
    s = rr.solicitation
    kept = rr.kept
    if not kept:
        if any(router_advert.hosts_discard(a) for a in s.adverts):
            what = "only RAs hosts must discard"
        else:
            what = "no RA we could decode" if s.adverts else "no RA"
        pytest.skip(f"{what} within {s.window_ms:.0f} ms after RS on {s.interface} (RA-01)")
    return kept


@pytest.mark.check("RA-01")
async def test_router_answers_solicitation(target: Target, routers: RouterRound) -> None:
    """A router answers a Router Solicitation on the uplink with an RA hosts keep (RFC 4861
    6.1.2); its router lifetime is 0 or from MaxRtrAdvInterval to 65535 s (RFC 8319), non-zero
    for the host's default router; its source link-layer address and advertisement interval
    options are sound."""
    s = routers.solicitation
    evidence = s.lines()
    assert s.adverts, explain(
        f"no RA within {s.window_ms:.0f} ms after RS on {s.interface}",
        evidence,
        breaks=[fact("router", s.interface)],
        fix="check that a router runs on this link (radvd, the provider's router) and sends "
        "RAs here; on a host that configures IPv6 statically this check does not apply",
    )
    problems: list[str] = []
    for router in s.routers:
        ra = s.latest(router)
        if isinstance(ra, MalformedAdvert) and ra.internal:  # our decoder failed, not the router
            raise ProbeError(f"RA from {router}", ra.reason)
        discarded = router_advert.hosts_discard(ra)
        if isinstance(ra, MalformedAdvert):
            problems.append(f"{router}: an RA hosts must discard (RFC 4861 6.1.2): {discarded}")
            continue
        if discarded:
            problems.append(f"{router}: {discarded}")
            continue
        interval = router_advert.max_interval_of(ra, target.profile.ra_max_interval)
        for rule in (
            router_advert.router_lifetime_ok(ra, interval),
            router_advert.max_interval_ok(ra),
        ):
            if rule:
                problems.append(f"{router}: {rule}")
        problems += [f"{router}: {b.text()}" for b in ra.broken_of(*RA01_OPTIONS)]
        if router in routers.default_gateways and ra.router_lifetime == 0:
            problems.append(
                f"{router}: the host's default gateway advertises router lifetime 0 "
                "(RFC 4861 6.3.4: not a default router)"
            )
    assert not problems, explain(
        first_of(problems),
        [*problems, *evidence],
        fix="correct the router's RA configuration: hosts discard an RA that comes from other "
        "than a link-local address, with IP hop limit below 255, ICMP code not 0, fewer than "
        "16 octets or an option of length 0 (and Linux one whose option runs past its end); "
        "send options at their RFC sizes; keep the router lifetime 0 or at least "
        "MaxRtrAdvInterval, up to 65535 s (RFC 8319); a default route whose router lifetime is "
        "0 is dropped",
    )


def _judge_options(
    adverts: tuple[RouterAdvert, ...], rules: Callable[[RouterAdvert], list[str]]
) -> list[str]:
    return [f"{ra.source}: {problem}" for ra in adverts for problem in rules(ra)]


@pytest.mark.check("RA-02")
async def test_rdnss_well_formed(target: Target, routers: RouterRound) -> None:
    """The RA carries an RDNSS option (RFC 8106): length odd and at least 3, unicast addresses,
    lifetime non-zero and at least 3 × MaxRtrAdvInterval."""
    adverts = _need_adverts(routers)
    evidence = routers.solicitation.lines()

    def rules(ra: RouterAdvert) -> list[str]:
        if not ra.rdnss:
            return ["no RDNSS option (RFC 8106): hosts that take DNS from RAs get no nameserver"]
        interval = router_advert.max_interval_of(ra, target.profile.ra_max_interval)
        found = []
        for opt in ra.rdnss:
            for problem in (
                router_advert.rdnss_length_ok(opt),
                router_advert.rdnss_addresses_unicast(opt),
                router_advert.rdnss_lifetime_ok(opt, interval),
            ):
                if problem:
                    found.append(f"RDNSS {', '.join(opt.servers) or '(empty)'}: {problem}")
        return found

    # a router that is no default router (lifetime 0) need not announce DNS
    judged = tuple(ra for ra in adverts if ra.router_lifetime or ra.rdnss)
    if not judged:
        pytest.skip(
            "nothing to judge: every router that answered has router lifetime 0 (no default "
            "router) and announces no RDNSS: "
            + ", ".join(f"{ra.source} lifetime {ra.router_lifetime} s" for ra in adverts)
        )
    wrong = _judge_options(judged, rules)
    assert not wrong, explain(
        first_of(wrong),
        [*wrong, *evidence],
        fix="radvd: RDNSS <address> { AdvRDNSSLifetime <at least 3 × MaxRtrAdvInterval>; }; "
        "announce unicast nameservers only (RFC 8106 5.1)",
    )


@pytest.mark.check("RA-03")
async def test_rdnss_servers_answer(target: Target, routers: RouterRound) -> None:
    """Each RDNSS server answers a DNS query over IPv6."""
    _need_adverts(routers)
    if not routers.rdnss_answers:
        pytest.skip("no router announces a (unicast) RDNSS server (RA-02)")
    silent = [r for r in routers.rdnss_answers.values() if not r.answered]
    refused = [r for r in routers.rdnss_answers.values() if r.rcode in ("REFUSED", "SERVFAIL")]
    evidence = [line for r in routers.rdnss_answers.values() for line in r.lines()]
    # what it saw from the host's side: the same servers DNS-01 asks (it finds them first-hand)
    servers = [nameserver_fact(r.server) for r in (*silent, *refused)]
    assert not silent, explain(
        "RDNSS server "
        + "; ".join(f"{r.server}: {r.error} after {r.elapsed_ms:.0f} ms" for r in silent),
        evidence,
        fix="the routers announce a nameserver that does not answer over IPv6: make it listen "
        "on that address (and allow port 53), or announce one that does",
        hop="unknown",
        breaks=servers,
        needs=servers,
    )
    assert not refused, explain(
        "RDNSS server " + "; ".join(f"{r.server} answered {r.rcode}" for r in refused),
        evidence,
        fix="REFUSED: allow the link's prefix in the server's access control; SERVFAIL: the "
        "server cannot resolve",
        hop="far end",
        breaks=servers,
        needs=servers,
    )


@pytest.mark.check("RA-04")
async def test_dnssl_and_profile(target: Target, routers: RouterRound) -> None:
    """DNSSL, where present or expected, is well formed; RDNSS and DNSSL match the profile."""
    adverts = _need_adverts(routers)
    profile = target.profile
    wrong: list[str] = []
    for ra in adverts:
        interval = router_advert.max_interval_of(ra, profile.ra_max_interval)
        for opt in ra.dnssl:
            for problem in (
                router_advert.dnssl_encoding_ok(opt),
                router_advert.dnssl_lifetime_ok(opt, interval),
            ):
                if problem:
                    wrong.append(f"{ra.source}: DNSSL {', '.join(opt.domains)}: {problem}")
    servers = {s for ra in adverts for opt in ra.rdnss for s in opt.servers}
    domains = {d.lower() for ra in adverts for opt in ra.dnssl for d in opt.domains}
    if profile.rdnss and servers and set(profile.rdnss) != servers:  # none at all: RA-02
        wrong.append(
            f"RDNSS: expected {', '.join(profile.rdnss)}, "
            f"advertised {', '.join(sorted(servers)) or 'none'}"
        )
    expected = {d.lower().rstrip(".") for d in profile.dnssl}
    if expected and expected != domains:
        wrong.append(
            f"DNSSL: expected {', '.join(sorted(expected))}, "
            f"advertised {', '.join(sorted(domains)) or 'none'}"
        )
    assert not wrong, explain(
        first_of(wrong),
        [*wrong, *routers.solicitation.lines()],
        fix="radvd: DNSSL <domain> ... { AdvDNSSLLifetime <at least 3 × MaxRtrAdvInterval>; }; "
        "and RDNSS as the profile says (or correct the profile)",
    )


@pytest.mark.check("RA-05")
async def test_prefix_information(target: Target, routers: RouterRound) -> None:
    """Prefix information is consistent (A and L flags, preferred ≤ valid) and its options
    sized right; the MTU option sized right and usable (1280 up to the link's MTU); M and O
    flags as the profile expects."""
    adverts = _need_adverts(routers)
    profile = target.profile
    link_mtu = routers.solicitation.link_mtu

    def rules(ra: RouterAdvert) -> list[str]:
        found = [b.text() for b in ra.broken_of(*RA05_OPTIONS)]
        found += [
            f"prefix {p.prefix}: {problem}"
            for p in ra.prefixes
            for problem in (router_advert.prefix_lifetimes_ok(p), router_advert.prefix_flags_ok(p))
            if problem
        ]
        mtu = router_advert.mtu_ok(
            ra, link_mtu, routers.solicitation.ipv6_mtu, routers.solicitation.interface
        )
        flags = router_advert.managed_other_ok(ra, profile.ra_managed, profile.ra_other)
        return found + [problem for problem in (mtu, flags) if problem]

    wrong = _judge_options(adverts, rules)
    assert not wrong, explain(
        first_of(wrong),
        [*wrong, *routers.solicitation.lines()],
        fix="radvd: prefix <p>/64 { AdvOnLink on; AdvAutonomous on; AdvPreferredLifetime ≤ "
        "AdvValidLifetime; }; AdvLinkMTU 0 (none) or 1280 up to the link's MTU; "
        "AdvManagedFlag / AdvOtherConfigFlag as the site runs DHCPv6; a router that sends a "
        "prefix or MTU option of another size needs fixing (RFC 4861 4.6.2, 4.6.4)",
    )
