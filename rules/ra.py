"""RA-01..RA-05's rules: are the Router Advertisements that answered a Router Solicitation, and
their RDNSS, DNSSL, prefix and MTU options, sound (RFC 4861 as updated by RFC 8319, RFC 4862,
RFC 8106)?

The validators each judge one rule of one option or field and say which, in one sentence
(None: sound); the ``judge_*`` functions are the checks' verdicts over every router that
answered. Without any RA, RA-01 fails and the others are not observed, with that reason. An RA
hosts discard whole (RFC 4861 6.1.2, and Linux) fails RA-01 and is judged nowhere else; a broken
option in an RA hosts keep fails the check that owns the option: RA-02 RDNSS, RA-04 DNSSL, RA-05
prefix information and MTU, RA-01 the rest (source link-layer address, advertisement interval).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping, Sequence

from probes.dns import DnsResult
from probes.errors import ProbeError
from probes.profile import Profile
from probes.router_advert import (
    INFINITY,
    LINK_LOCAL,
    MAX_RTR_ADV_INTERVAL,
    MIN_LINK_MTU,
    MIN_RTR_ADV_INTERVAL_MS,
    ND_HOP_LIMIT,
    OPT_ADV_INTERVAL,
    OPT_MTU,
    OPT_PREFIX_INFO,
    OPT_SOURCE_LLADDR,
    SLAAC_PREFIX_LENGTH,
    Dnssl,
    MalformedAdvert,
    PrefixInfo,
    Rdnss,
    RouterAdvert,
    lifetime_text,
    not_unicast,
)
from probes.router_solicit import Solicitation
from rules.judgement import Judgement, fact, failed, first_of, nameserver_fact, not_observed, passed
from rules.ra_fix import dnssl_fix, rdnss_fix

# the options RA-01 owns; RA-02, RA-04 and RA-05 report theirs (RDNSS and DNSSL have no fixed
# size: their length rules are rdnss_length_ok and dnssl_encoding_ok)
RA01_OPTIONS = (OPT_SOURCE_LLADDR, OPT_ADV_INTERVAL)
RA05_OPTIONS = (OPT_PREFIX_INFO, OPT_MTU)


# --- validators: each judges one rule and says which, in one sentence ------------------------


# what Linux does with an RDNSS or DNSSL option, whatever is wrong inside it (seen in the lab)
LINUX_USER_OPTION = (
    "Linux uses the rest of the RA and hands this option as it is to user space"
    " (RTM_NEWNDUSEROPT), whose resolver daemon decides"
)


def rdnss_length_ok(opt: Rdnss) -> str | None:
    """RFC 8106 5.1: the length is 1 + 2 per address, so odd and at least 3."""
    if opt.length < 3:
        problem = f"RDNSS length {opt.length} leaves no room for an address"
    elif opt.length % 2 == 0:
        problem = f"RDNSS length {opt.length} is even: the last address is cut in half"
    else:
        return None
    return f"{problem} (RFC 8106 5.1: odd, >= 3); {LINUX_USER_OPTION}"


def rdnss_addresses_unicast(opt: Rdnss) -> str | None:
    """RFC 8106 5.1 (and RFC 4291 2.4): a DNS server address is a unicast address.

    Link-local is fine (hosts pair it with the interface the RA came in on); multicast,
    unspecified and loopback addresses cannot be anyone's server.
    """
    wrong = [f"{server} ({kind})" for server in opt.servers if (kind := not_unicast(server))]
    if wrong:
        return f"RDNSS lists {', '.join(wrong)}: DNS servers must be unicast (RFC 8106 5.1)"
    return None


def rdnss_lifetime_ok(opt: Rdnss, max_interval: float | None) -> str | None:
    """RFC 8106 5.1: lifetime 0 withdraws the servers; it SHOULD be >= 3 * MaxRtrAdvInterval.

    A shorter lifetime lets the servers expire between two adverts when one is lost.
    ``max_interval`` is in seconds; None skips the second rule. RFC 8106 sets no upper bound
    and no 1800 s figure of its own: MaxRtrAdvInterval is RFC 4861's, which RFC 8319 lets go
    up to 65535 s, so 3 * 65535 s (within the 32-bit lifetime) can be what is due.
    """
    return _lifetime_problem(opt.lifetime, max_interval, "servers", "RFC 8106 5.1")


def dnssl_encoding_ok(opt: Dnssl) -> str | None:
    """RFC 8106 5.2: length >= 2 (one name at least) and names as in RFC 1035 3.1, uncompressed."""
    if opt.length < 2:
        problem = f"DNSSL length {opt.length} leaves no room for a name (RFC 8106 5.2: >= 2)"
    elif opt.problem is not None:
        problem = opt.problem
    else:
        return None
    return f"{problem}; {LINUX_USER_OPTION}"


def dnssl_lifetime_ok(opt: Dnssl, max_interval: float | None) -> str | None:
    """RFC 8106 5.2: as for RDNSS, lifetime 0 withdraws the domains, >= 3 * MaxRtrAdvInterval."""
    return _lifetime_problem(opt.lifetime, max_interval, "domains", "RFC 8106 5.2")


def _lifetime_problem(
    lifetime: int, max_interval: float | None, things: str, section: str
) -> str | None:
    if lifetime == 0:
        return f"lifetime 0: the router withdraws these {things} ({section})"
    if lifetime == INFINITY or max_interval is None or not math.isfinite(max_interval):
        return None
    least = 3 * max_interval
    if lifetime < least:
        return (
            f"lifetime {lifetime} s is below 3 * MaxRtrAdvInterval = {least:g} s: the {things}"
            f" may expire between adverts ({section}: SHOULD be at least that)"
        )
    return None


def prefix_lifetimes_ok(p: PrefixInfo) -> str | None:
    """RFC 4862 5.5.3 c): a preferred lifetime above the valid lifetime voids the option.

    Linux ignores all of it, the on-link part too (no route, no address: seen in the lab).
    """
    if p.preferred > p.valid:
        return (
            f"prefix {p.prefix}: preferred lifetime {lifetime_text(p.preferred)} exceeds valid"
            f" lifetime {lifetime_text(p.valid)}: hosts ignore the option (RFC 4862 5.5.3 c;"
            " Linux adds neither the on-link route nor an address)"
        )
    return None


def prefix_flags_ok(p: PrefixInfo) -> str | None:
    """What the option asks hosts to do with the prefix, judged by RFC 4861 4.6.2 and 4862 5.5.3.

    A prefix length over 128 is meaningless (RFC 4861 4.6.2); a link-local prefix is ignored
    (RFC 4861 6.3.4, RFC 4862 5.5.3 b); with neither L nor A the option says nothing; and for
    SLAAC (A) the prefix must be a /64 on Ethernet (RFC 4862 5.5.3 d, RFC 4291 2.5.1), or
    hosts form no address from it.
    """
    address_text, _, length_text = p.prefix.partition("/")
    try:
        address = ipaddress.IPv6Address(address_text)
        length = int(length_text)
    except ValueError:
        return f"prefix '{p.prefix[:60]}' is not an IPv6 prefix with a length"
    if not 0 <= length <= 128:
        return f"prefix {p.prefix}: length {length} is over 128 (RFC 4861 4.6.2)"
    if address in LINK_LOCAL:
        return f"prefix {p.prefix} is link-local: hosts ignore it (RFC 4862 5.5.3 b)"
    if not p.on_link and not p.autonomous:
        return f"prefix {p.prefix} has neither L nor A set: the option tells hosts nothing"
    if p.autonomous and length != SLAAC_PREFIX_LENGTH:
        return (
            f"prefix {p.prefix} has A set but is a /{length}: SLAAC needs a /64 on Ethernet"
            " (RFC 4862 5.5.3 d, RFC 4291 2.5.1), so hosts form no address from it"
        )
    return None


def managed_other_ok(ra: RouterAdvert, managed: bool | None, other: bool | None) -> str | None:
    """RFC 4861 4.2: M says addresses come from DHCPv6, O other configuration does.

    ``managed`` and ``other`` are what the profile expects; None means no expectation.
    """
    wrong = [
        f"{name}={int(got)} where {int(wanted)} is expected"
        for name, got, wanted in (("M", ra.managed, managed), ("O", ra.other, other))
        if wanted is not None and got != wanted
    ]
    if wrong:
        return f"RA flags {' and '.join(wrong)} (RFC 4861 4.2: M = DHCPv6 addresses, O = other)"
    return None


def router_lifetime_ok(ra: RouterAdvert, max_interval: float | None = None) -> str | None:
    """RFC 4861 6.2.1 as updated by RFC 8319: a router lifetime is 0 or between
    MaxRtrAdvInterval and 65535 s, so any non-zero 16-bit value is in range at the top.

    Zero is sound here: it says "not a default router", which the caller judges. Below
    MaxRtrAdvInterval (in seconds; None: unknown, not judged) the default route expires
    between two periodic adverts. RFC 4861 alone capped the lifetime at 9000 s; its 4.2 told
    receivers to handle any value all the same, and Linux does: the lab's kernel keeps a
    default route of 65535 s. Only a host that enforces the old cap would clamp or refuse one.
    """
    lifetime = ra.router_lifetime  # a 16-bit field: never over MAX_ROUTER_LIFETIME
    if lifetime and max_interval is not None and lifetime < max_interval:
        return (
            f"router lifetime {lifetime} s is below MaxRtrAdvInterval = {max_interval:g} s: the"
            " default route expires between adverts (RFC 4861 6.2.1 as updated by RFC 8319:"
            " 0 or between MaxRtrAdvInterval and 65535 s)"
        )
    return None


def max_interval_ok(ra: RouterAdvert) -> str | None:
    """The Advertisement Interval option's MaxRtrAdvInterval within bounds: at most 65535 s
    (RFC 4861 6.2.1 as updated by RFC 8319; RFC 4861 alone said 1800 s), at least 70 ms
    (RFC 6275 7.5: the option is Mobile IPv6's, which lowers RFC 4861's 4 s). None without one.
    """
    ms = ra.adv_interval_ms
    if ms is None:
        return None
    if ms > MAX_RTR_ADV_INTERVAL * 1000:
        return (
            f"advertisement interval {ms} ms is over MaxRtrAdvInterval's {MAX_RTR_ADV_INTERVAL} s"
            " (RFC 4861 6.2.1 as updated by RFC 8319)"
        )
    if ms < MIN_RTR_ADV_INTERVAL_MS:
        return (
            f"advertisement interval {ms} ms is under MaxRtrAdvInterval's"
            f" {MIN_RTR_ADV_INTERVAL_MS} ms floor (RFC 6275 7.5)"
        )
    return None


def mtu_ok(
    ra: RouterAdvert,
    link_mtu: int | None,
    ipv6_mtu: int | None = None,
    interface: str = "the uplink",
) -> str | None:
    """RFC 4861 6.3.4: hosts take the MTU option only from the IPv6 minimum (1280, RFC 8200 5)
    up to the link's own MTU; Linux ignores any other value (seen in the lab). ``link_mtu``:
    the interface's MTU, None if unknown (then only the minimum is judged). ``ipv6_mtu``: what
    the host sends IPv6 with on the link after the RA: above a usable announced MTU, the host
    did not take it (accept_ra_mtu = 0) and sends packets the link's routers cannot forward."""
    if ra.mtu is None:
        return None
    if ra.mtu < MIN_LINK_MTU:
        return (
            f"MTU {ra.mtu} is below IPv6's minimum of {MIN_LINK_MTU} (RFC 8200 5, RFC 4861"
            " 6.3.4): Linux ignores it"
        )
    if link_mtu is not None and ra.mtu > link_mtu:
        return (
            f"MTU {ra.mtu} is above the link's MTU of {link_mtu} (RFC 4861 6.3.4): Linux ignores it"
        )
    if ipv6_mtu is not None and ipv6_mtu > ra.mtu:
        return (
            f"MTU {ra.mtu} is announced, but the host sends IPv6 on {interface} at {ipv6_mtu} "
            f"(net.ipv6.conf.{interface}.mtu; accept_ra_mtu = 0 makes it ignore the option, "
            "and accept_ra = 1 with forwarding on every RA): larger packets than the link's "
            "routers take"
        )
    return None


def hop_limit_ok(ra: RouterAdvert | MalformedAdvert) -> str | None:
    """RFC 4861 6.1.2: an RA must arrive with IP hop limit 255, or it may come from off-link.

    None when the hop limit is unknown (the socket gave no ancillary data).
    """
    if ra.hop_limit is not None and ra.hop_limit != ND_HOP_LIMIT:
        return (
            f"RA arrived with IP hop limit {ra.hop_limit}, not {ND_HOP_LIMIT}: it may come from"
            " off-link, and hosts must discard it (RFC 4861 6.1.2)"
        )
    return None


def source_ok(ra: RouterAdvert | MalformedAdvert) -> str | None:
    """RFC 4861 6.1.2: an RA's IP source is the router's link-local address, or hosts discard
    it (routers are known by their link-local addresses, RFC 4861 6.1.2, 8.1)."""
    try:
        link_local = ipaddress.IPv6Address(ra.source.split("%")[0]) in LINK_LOCAL
    except ValueError:
        link_local = False
    if not link_local:
        return (
            f"RA came from {ra.source[:60]}, not a link-local address: hosts must discard it"
            " (RFC 4861 6.1.2)"
        )
    return None


def hosts_discard(ra: RouterAdvert | MalformedAdvert) -> str | None:
    """Why hosts discard this RA whole (RFC 4861 6.1.2, and Linux), None if they take it.

    An RA we failed to decode (``internal``) is not judged here: that is our fault.
    """
    if isinstance(ra, MalformedAdvert) and not ra.internal:
        return ra.reason
    return source_ok(ra) or hop_limit_ok(ra)


def max_interval_of(ra: RouterAdvert, configured: float | None) -> float | None:
    """MaxRtrAdvInterval in seconds: the router's own Advertisement Interval option (RFC 6275
    7.3, milliseconds) when it sends a sound one, else what the profile configures. (A broken
    or out-of-bounds option is reported by :func:`max_interval_ok` and the option's owner.)"""
    if ra.adv_interval_ms is not None and max_interval_ok(ra) is None:
        return ra.adv_interval_ms / 1000
    return configured


# --- the checks' verdicts ------------------------------------------------------------------


def kept_adverts(s: Solicitation) -> tuple[RouterAdvert, ...]:
    """Each router's latest RA, where hosts keep it (RFC 4861 6.1.2, and Linux)."""
    return tuple(
        a
        for a in (s.latest(r) for r in s.routers)
        if isinstance(a, RouterAdvert) and hosts_discard(a) is None
    )


def _no_adverts(s: Solicitation, kept: Sequence[RouterAdvert]) -> Judgement | None:
    """Not observed where no RA hosts keep came (RA-01 says why); None where some did."""
    if kept:
        return None
    if any(hosts_discard(a) for a in s.adverts):
        what = "only RAs hosts must discard"
    else:
        what = "no RA we could decode" if s.adverts else "no RA"
    return not_observed(f"{what} within {s.window_ms:.0f} ms after RS on {s.interface} (RA-01)")


def _options_judged(
    adverts: Sequence[RouterAdvert], rules: Callable[[RouterAdvert], list[str]]
) -> list[str]:
    return [f"{ra.source}: {problem}" for ra in adverts for problem in rules(ra)]


def _routers_text(adverts: Sequence[RouterAdvert]) -> str:
    return ", ".join(ra.source for ra in adverts)


RA01_FIX = (
    "correct the router's RA configuration: hosts discard an RA that comes from other than a "
    "link-local address, with IP hop limit below 255, ICMP code not 0, fewer than 16 octets or "
    "an option of length 0 (and Linux one whose option runs past its end); send options at "
    "their RFC sizes; keep the router lifetime 0 or at least MaxRtrAdvInterval, up to 65535 s "
    "(RFC 8319); a default route whose router lifetime is 0 is dropped"
)


def judge_router_answers(
    s: Solicitation, *, default_gateways: Sequence[str], profile: Profile
) -> Judgement:
    """RA-01: a router answers the Router Solicitation with an RA hosts keep (RFC 4861 6.1.2);
    its router lifetime is 0 or from MaxRtrAdvInterval to 65535 s (RFC 8319), non-zero for the
    host's default router; its source link-layer address and interval options are sound."""
    evidence = s.lines()
    if not s.adverts:
        return failed(
            f"no RA within {s.window_ms:.0f} ms after RS on {s.interface}",
            evidence,
            breaks=[fact("router", s.interface)],
            hop="upstream",
            fix_where="router",
            fix="check that a router runs on this link (radvd, the provider's router) and "
            "sends RAs here; on a host that configures IPv6 statically this check does not "
            "apply",
        )
    problems: list[str] = []
    for router in s.routers:
        ra = s.latest(router)
        if isinstance(ra, MalformedAdvert) and ra.internal:  # our decoder failed, not the router
            raise ProbeError(f"RA from {router}", ra.reason)
        discarded = hosts_discard(ra)
        if isinstance(ra, MalformedAdvert):
            problems.append(f"{router}: an RA hosts must discard (RFC 4861 6.1.2): {discarded}")
            continue
        if discarded:
            problems.append(f"{router}: {discarded}")
            continue
        interval = max_interval_of(ra, profile.ra_max_interval)
        for rule in (router_lifetime_ok(ra, interval), max_interval_ok(ra)):
            if rule:
                problems.append(f"{router}: {rule}")
        problems += [f"{router}: {b.text()}" for b in ra.broken_of(*RA01_OPTIONS)]
        if router in default_gateways and ra.router_lifetime == 0:
            problems.append(
                f"{router}: the host's default gateway advertises router lifetime 0 "
                "(RFC 4861 6.3.4: not a default router)"
            )
    if problems:
        return failed(
            first_of(problems),
            [*problems, *evidence],
            fix=RA01_FIX,
            fix_where="router",
            hop="upstream",
        )
    return passed(
        f"{_routers_text(kept_adverts(s))} answered the RS on {s.interface} with an RA hosts "
        "keep, its router lifetime and options sound",
        evidence,
    )


def least_lifetime(adverts: Sequence[RouterAdvert], profile: Profile) -> int | None:
    """RFC 8106 5.1: RDNSS and DNSSL lifetimes of at least 3 × MaxRtrAdvInterval (the
    largest the routers say, or the profile configures); None where nothing says it."""
    intervals = [i for ra in adverts if (i := max_interval_of(ra, profile.ra_max_interval))]
    return math.ceil(3 * max(intervals)) if intervals else None


def judge_rdnss(s: Solicitation, kept: Sequence[RouterAdvert], *, profile: Profile) -> Judgement:
    """RA-02: the RA carries an RDNSS option (RFC 8106): length odd and at least 3, unicast
    addresses, lifetime non-zero and at least 3 × MaxRtrAdvInterval."""
    if (none := _no_adverts(s, kept)) is not None:
        return none

    def rules(ra: RouterAdvert) -> list[str]:
        if not ra.rdnss:
            return ["no RDNSS option (RFC 8106): hosts that take DNS from RAs get no nameserver"]
        interval = max_interval_of(ra, profile.ra_max_interval)
        found = []
        for opt in ra.rdnss:
            for problem in (
                rdnss_length_ok(opt),
                rdnss_addresses_unicast(opt),
                rdnss_lifetime_ok(opt, interval),
            ):
                if problem:
                    found.append(f"RDNSS {', '.join(opt.servers) or '(empty)'}: {problem}")
        return found

    # a router that is no default router (lifetime 0) need not announce DNS
    judged = tuple(ra for ra in kept if ra.router_lifetime or ra.rdnss)
    if not judged:
        return not_observed(
            "nothing to judge: every router that answered has router lifetime 0 (no default "
            "router) and announces no RDNSS: "
            + ", ".join(f"{ra.source} lifetime {ra.router_lifetime} s" for ra in kept)
        )
    evidence = s.lines()
    wrong = _options_judged(judged, rules)
    if wrong:
        return failed(
            first_of(wrong),
            [*wrong, *evidence],
            hop="upstream",
            fix=rdnss_fix(profile, least_lifetime(judged, profile)),
        )
    return passed(f"the RDNSS options of {_routers_text(judged)} are sound", evidence)


def judge_rdnss_answers(
    s: Solicitation, kept: Sequence[RouterAdvert], answers: Mapping[str, DnsResult]
) -> Judgement:
    """RA-03: each (unicast) RDNSS server answers a DNS query over IPv6."""
    if (none := _no_adverts(s, kept)) is not None:
        return none
    if not answers:
        return not_observed("no router announces a (unicast) RDNSS server (RA-02)")
    silent = [r for r in answers.values() if not r.answered]
    refused = [r for r in answers.values() if r.rcode in ("REFUSED", "SERVFAIL")]
    evidence = [line for r in answers.values() for line in r.lines()]
    # what it saw from the host's side: the same servers DNS-01 asks (it finds them first-hand)
    servers = [nameserver_fact(r.server) for r in (*silent, *refused)]
    if silent:
        return failed(
            "RDNSS server "
            + "; ".join(f"{r.server}: {r.error} after {r.elapsed_ms:.0f} ms" for r in silent),
            evidence,
            fix_where="DNS server",
            fix="the routers announce a nameserver that does not answer over IPv6: make it "
            "listen on that address (and allow port 53), or announce one that does",
            hop="unknown",
            breaks=servers,
            needs=servers,
        )
    if refused:
        return failed(
            "RDNSS server " + "; ".join(f"{r.server} answered {r.rcode}" for r in refused),
            evidence,
            fix_where="DNS server",
            fix="REFUSED: allow the link's prefix in the server's access control; SERVFAIL: "
            "the server cannot resolve",
            hop="far end",
            breaks=servers,
            needs=servers,
        )
    return passed(f"every RDNSS server answered over IPv6: {', '.join(answers)}", evidence)


def judge_dnssl(s: Solicitation, kept: Sequence[RouterAdvert], *, profile: Profile) -> Judgement:
    """RA-04: DNSSL, where present or expected, is well formed; RDNSS and DNSSL match the
    profile."""
    if (none := _no_adverts(s, kept)) is not None:
        return none
    wrong: list[str] = []
    for ra in kept:
        interval = max_interval_of(ra, profile.ra_max_interval)
        for opt in ra.dnssl:
            for problem in (dnssl_encoding_ok(opt), dnssl_lifetime_ok(opt, interval)):
                if problem:
                    wrong.append(f"{ra.source}: DNSSL {', '.join(opt.domains)}: {problem}")
    servers = {server for ra in kept for opt in ra.rdnss for server in opt.servers}
    domains = {d.lower() for ra in kept for opt in ra.dnssl for d in opt.domains}
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
    evidence = s.lines()
    if wrong:
        return failed(
            first_of(wrong),
            [*wrong, *evidence],
            hop="upstream",
            fix=dnssl_fix(profile, domains, least_lifetime(kept, profile)),
        )
    return passed(
        f"DNSSL {', '.join(sorted(domains)) or '(none)'} sound and as the profile says",
        evidence,
    )


def judge_prefix_information(
    s: Solicitation, kept: Sequence[RouterAdvert], *, profile: Profile
) -> Judgement:
    """RA-05: prefix information is consistent (A and L flags, preferred ≤ valid) and its
    options sized right; the MTU option sized right and usable (1280 up to the link's MTU); M
    and O flags as the profile expects."""
    if (none := _no_adverts(s, kept)) is not None:
        return none

    def rules(ra: RouterAdvert) -> list[str]:
        found = [b.text() for b in ra.broken_of(*RA05_OPTIONS)]
        found += [
            f"prefix {p.prefix}: {problem}"
            for p in ra.prefixes
            for problem in (prefix_lifetimes_ok(p), prefix_flags_ok(p))
            if problem
        ]
        mtu = mtu_ok(ra, s.link_mtu, s.ipv6_mtu, s.interface)
        flags = managed_other_ok(ra, profile.ra_managed, profile.ra_other)
        return found + [problem for problem in (mtu, flags) if problem]

    evidence = s.lines()
    wrong = _options_judged(kept, rules)
    if wrong:
        return failed(
            first_of(wrong),
            [*wrong, *evidence],
            hop="upstream",
            fix_where="router",
            fix="radvd: prefix <p>/64 { AdvOnLink on; AdvAutonomous on; AdvPreferredLifetime ≤ "
            "AdvValidLifetime; }; AdvLinkMTU 0 (none) or 1280 up to the link's MTU; "
            "AdvManagedFlag / AdvOtherConfigFlag as the site runs DHCPv6; a router that sends a "
            "prefix or MTU option of another size needs fixing (RFC 4861 4.6.2, 4.6.4)",
        )
    return passed(
        f"the prefix information, MTU and M/O flags of {_routers_text(kept)} are sound", evidence
    )
