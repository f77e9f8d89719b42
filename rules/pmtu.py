"""Judgement of the path MTU checks PMTU-01 and PMTU-02: pure functions over what
:func:`probes.pmtu.discover`, the uplink capture and a large DNS exchange over TCP showed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from probes import icmp6
from probes.capture import Frame
from probes.dns import DnsResult
from probes.pmtu import PathMtu
from rules.judgement import Fix, Judgement, fact, failed, not_observed, passed

RFC_4890 = "RFC 4890 §4.3.1: Packet Too Big must not be dropped"


def host_fix(docker: str) -> str:
    """Never wider than the Packet Too Big itself: the rule that drops it goes, nothing else."""
    return (
        f"on Docker {docker or 'this host'}: remove the firewall rule that drops ICMPv6 Packet "
        "Too Big toward the containers (RT-04 names it); it needs no rule of its own, the "
        "errors of container traffic pass as RELATED (Docker's rules accept them wherever it "
        "writes ip6tables rules; with ip6tables off, the site's own FORWARD rules decide)"
    )


UPSTREAM_FIX = (
    "the upstream router (or a firewall beyond the uplink) does not send or drops ICMPv6 "
    f"Packet Too Big ({RFC_4890}): have it let them through; until then, lower the containers' "
    "MTU to the path's (network option com.docker.network.driver.mtu, any Docker version) so "
    "their packets never need one"
)


def upstream_fix(gateway: str | None, target: str, size: int) -> Fix:
    """A full-size packet left through the upstream and nothing came back: the router the host
    sends it to (its default router, ``gateway``) must send Packet Too Big for the narrower hop
    (or let through the one a hop beyond sends). Its software is not known from here: words
    with its address."""
    if gateway is None:
        return Fix(UPSTREAM_FIX, where="upstream router")
    return Fix(
        f"have the upstream router {gateway} (this host's default router) send ICMPv6 Packet "
        f"Too Big for the narrower hop beyond it and let them through ({RFC_4890}): a {size}-"
        f"byte packet to {target} left through it and vanished, and none came back; a firewall "
        "beyond the uplink may drop them too; until then, lower the containers' MTU to the "
        "path's (network option com.docker.network.driver.mtu, any Docker version) so their "
        "packets never need one",
        where="upstream router",
        values=(("send-packet-too-big", gateway),),
    )


@dataclass(frozen=True, slots=True)
class UplinkSight:
    """What the host's uplink saw of one probe's full-size packet: whether it left, and the
    Packet Too Big that came back for it, if one did."""

    watched: bool  # False: no capture (no uplink, or it could not be opened)
    left: bool
    too_big: Frame | None

    def lines(self, uplink: str | None, what: str = "the full-size request") -> tuple[str, ...]:
        if not self.watched:
            return ("the uplink was not watched",)
        on = uplink or "the uplink"
        out = [f"on {on}: {what} " + ("left the host" if self.left else "never left the host")]
        if self.too_big is not None:
            out.append(f"on {on}: {self.too_big.describe()}")
        elif self.left:
            out.append(f"on {on}: no Packet Too Big came back for it")
        return tuple(out)


def sighting(
    frames: Sequence[Frame], ident: int, *, watched: bool, seq: int | None = None
) -> UplinkSight:
    """The probe's packets among the uplink's frames, by the echo identifier (which Docker's
    NAT66 keeps: it rewrites the source address, not the identifier, when nothing clashes);
    ``seq``: only that one packet of them (None: any)."""
    left = any(
        f.outgoing
        and isinstance(f.message, icmp6.Echo)
        and f.message.type == icmp6.ECHO_REQUEST
        and f.message.ident == ident
        and (seq is None or f.message.seq == seq)
        for f in frames
    )
    too_big = next(
        (
            f
            for f in frames
            if not f.outgoing
            and isinstance(f.message, icmp6.Icmp6Error)
            and f.message.type == icmp6.PACKET_TOO_BIG
            and f.message.invoking_echo is not None
            and f.message.invoking_echo.ident == ident
            and (seq is None or f.message.invoking_echo.seq == seq)
        ),
        None,
    )
    return UplinkSight(watched, left, too_big)


def _small_path_broken(r: PathMtu) -> Judgement | None:
    if r.small.answered:
        return None
    return not_observed(
        f"a small echo to {r.target} got no reply either ({r.small.error or 'silence'}): the "
        "path itself does not work (RT-02), so a black hole for large packets cannot be told "
        "from it",
        (*r.small.evidence, *r.evidence),
    )


def _narrowed_text(r: PathMtu) -> str:
    return ", then ".join(t.text() for t in r.narrowed)


def judge_too_big(
    r: PathMtu,
    sight: UplinkSight,
    *,
    network: str,
    uplink: str | None,
    docker: str,
    last_sight: UplinkSight | None = None,
    gateway: str | None = None,
) -> Judgement:
    """PMTU-01: a packet as large as the container's link allows, toward a far address, is
    answered (nothing narrower on the path) or draws a Packet Too Big that reaches the
    container, whose kernel then keeps the smaller MTU; over several narrower hops, each
    packet sent again at that MTU does the same, until one is answered. ``last_sight``: what
    the uplink saw of the last of them (where more than one was sent)."""
    evidence = (*r.evidence, *sight.lines(uplink), "small echo beside it:", *r.small.evidence)
    if r.first in ("too-big", "refused") and r.final == "silent" and r.learned_mtu:
        return _beyond_narrowed(r, sight, last_sight, network=network, uplink=uplink,
                                docker=docker)  # fmt: skip
    if r.final == "too-big" and len(r.narrowed) > 1:
        return _later_hop_too_big(r, evidence, network)
    if r.first == "answered":
        return passed(
            f"a {r.link_mtu}-byte packet to {r.target} came back answered: the path carries the "
            "container's whole link MTU, there is nothing smaller to discover",
            evidence,
        )
    kept = r.too_big is not None and r.learned_mtu and r.learned_mtu <= max(r.too_big.mtu, 1280)
    if r.first == "too-big" and r.too_big is not None and kept and len(r.narrowed) > 1:
        return passed(
            f"{_narrowed_text(r)} reached the container, one hop after the other: its kernel "
            f"keeps mtu {r.learned_mtu} toward {r.target}"
            + (", and a packet of that size was answered" if r.final == "answered" else ""),
            evidence,
        )
    if r.first == "too-big" and r.too_big is not None and kept:
        return passed(
            f"{r.too_big.text()} reached the container and its kernel keeps mtu "
            f"{r.learned_mtu} toward {r.target}"
            + (", and a packet of that size was answered" if r.final == "answered" else ""),
            evidence,
        )
    if r.first == "refused" and r.learned_mtu:
        return passed(
            f"the container's kernel already holds mtu {r.learned_mtu} toward {r.target}, "
            "learnt from a Packet Too Big that reached it earlier"
            + (", and a packet of that size was answered" if r.final == "answered" else ""),
            evidence,
        )
    if r.first == "too-big" and r.too_big is not None and r.too_big.mtu >= r.link_mtu:
        return failed(
            f"{r.too_big.text()} names an MTU no smaller than the packet it answers "
            f"({r.link_mtu} bytes): the kernel rightly ignores it (RFC 8201 §4), and the hop that "
            "sent it drops full-size packets without saying how large they may be",
            evidence,
            fix=f"fix the router at {r.too_big.router}: its Packet Too Big must carry the MTU of "
            "its next link (any Docker version: the fault is beyond the container)",
            hop="upstream",
            breaks=[fact("pmtud", network)],
        )
    if r.first == "too-big" and r.too_big is not None:
        return failed(
            f"{r.too_big.text()} reached the container but its kernel keeps no smaller MTU "
            f"toward {r.target}",
            evidence,
            fix="check the container's kernel settings (net.ipv6.route.mtu_expires) and that "
            "the Packet Too Big is for its own address",
            hop="container",
            breaks=[fact("pmtud", network)],
        )
    broken = _small_path_broken(r)
    if broken is not None:
        return broken
    if r.first in ("error", "refused"):
        return not_observed(
            f"the full-size packet to {r.target} was refused ({r.error}), not narrowed: RT-02 "
            "judges that path",
            evidence,
        )
    # silent, while a small echo was answered: the black hole
    head = f"a {r.link_mtu}-byte packet to {r.target} vanished while a small one was answered"
    needs = [fact("icmp-errors", network), fact("path", network)]
    breaks = [fact("pmtud", network)]
    if sight.watched and sight.too_big is not None:
        return failed(
            f"{head}: the Packet Too Big from {sight.too_big.src} reached the host's uplink but "
            "not the container, so the host drops it",
            evidence, fix=host_fix(docker), hop="host", breaks=breaks, needs=needs,
        )  # fmt: skip
    if sight.watched and sight.left:
        # one fault beyond the uplink, whichever network's containers meet it
        beyond = [*breaks, fact("ptb-beyond", uplink or "the uplink")]
        return failed(
            f"{head}: it left the host, and no Packet Too Big came back to the uplink (the "
            "upstream sends none, or something beyond the uplink drops it)",
            evidence, fix=upstream_fix(gateway, r.target, r.link_mtu), hop="upstream",
            breaks=beyond, needs=needs,
        )  # fmt: skip
    if sight.watched:
        return failed(
            f"{head}: it never left the host's uplink, and no Packet Too Big came back from the "
            "host (its uplink is narrower than the bridge, and its own error is dropped)",
            evidence,
            fix="let the host's own ICMPv6 Packet Too Big out to the containers (OUTPUT), or set "
            "the bridge's MTU to the uplink's (com.docker.network.driver.mtu)",
            hop="host", breaks=breaks, needs=needs,
        )  # fmt: skip
    return failed(
        f"{head}, and no Packet Too Big came back (the uplink was not watched: where it is lost "
        "is not known)",
        evidence, fix=UPSTREAM_FIX, hop="unknown", breaks=breaks, needs=needs,
    )  # fmt: skip


def _later_hop_too_big(r: PathMtu, evidence: Sequence[str], network: str) -> Judgement:
    """A farther hop's Packet Too Big ended the rounds: one the kernel rightly ignored (an MTU
    no smaller than the packet), one it did not take, or the rounds ran out."""
    t, size = r.narrowed[-1], r.last_size or r.link_mtu
    if t.mtu >= size:
        return failed(
            f"{_narrowed_text(r)}: the last names an MTU no smaller than the {size}-byte packet "
            "it answers: the kernel rightly ignores it (RFC 8201 §4), and that hop drops such "
            "packets without saying how large they may be",
            evidence,
            fix=f"fix the router at {t.router}: its Packet Too Big must carry the MTU of its "
            "next link (any Docker version: the fault is beyond the container)",
            hop="far end", breaks=[fact("pmtud", network)], fix_where="router",
        )  # fmt: skip
    if r.learned_mtu and r.learned_mtu <= max(t.mtu, 1280):
        return not_observed(
            f"{_narrowed_text(r)} reached the container and its kernel keeps mtu "
            f"{r.learned_mtu}, but the probe's rounds ran out before a packet was answered",
            evidence,
        )
    return failed(
        f"{t.text()} reached the container but its kernel keeps no smaller MTU toward {r.target}",
        evidence,
        fix="check the container's kernel settings (net.ipv6.route.mtu_expires) and that the "
        "Packet Too Big is for its own address",
        hop="container",
        breaks=[fact("pmtud", network)],
    )


def far_fix(router: str, mtu: int) -> str:
    return (
        f"a router beyond {router} (which says its next link carries {mtu}), on a link "
        f"narrower still, sends no ICMPv6 Packet Too Big, or something between drops it "
        f"({RFC_4890}): have it let them through; until then, lower the containers' MTU below "
        f"{mtu}, to the path's (network option com.docker.network.driver.mtu, any Docker "
        "version) so their packets never need one"
    )


def _beyond_narrowed(
    r: PathMtu,
    sight: UplinkSight,
    last_sight: UplinkSight | None,
    *,
    network: str,
    uplink: str | None,
    docker: str,
) -> Judgement:
    """PMTU-01 where the path narrowed and then went silent: a packet sized to the MTU the
    last Packet Too Big gave (or the kernel already held) vanished while a small one was
    answered. The black hole is beyond the hop that last said its MTU, not at it."""
    last = last_sight or UplinkSight(False, False, None)
    size = r.last_size or r.learned_mtu or r.link_mtu
    said = r.narrowed[-1] if r.narrowed else None
    evidence = (
        *r.evidence,
        *sight.lines(uplink),
        *last.lines(uplink, f"the {size}-byte request (seq {r.last_seq})"),
        "small echo beside it:",
        *r.small.evidence,
    )
    broken = _small_path_broken(r)
    if broken is not None:
        return broken
    gave = (
        f"{_narrowed_text(r)} reached the container"
        if said is not None
        else f"the container's kernel held mtu {r.learned_mtu} toward {r.target}"
    )
    head = (
        f"{gave}, but a {size}-byte packet sent at that MTU vanished while a small one was answered"
    )
    needs = [fact("icmp-errors", network), fact("path", network)]
    breaks = [fact("pmtud", network)]
    if last.watched and last.too_big is not None:
        return failed(
            f"{head}: its Packet Too Big from {last.too_big.src} reached the host's uplink but "
            "not the container, so the host drops it",
            evidence, fix=host_fix(docker), hop="host", breaks=breaks, needs=needs,
        )  # fmt: skip
    # the hop that said its MTU is beyond the uplink where its Packet Too Big came in on it
    beyond = said is not None and sight.too_big is not None and sight.too_big.src == said.router
    if last.watched and last.left and beyond and said is not None:
        return failed(
            f"{head}: it left the host and no Packet Too Big came back to the uplink: the "
            f"break is beyond {said.router}, which said its next link carries {said.mtu}, at a "
            "hop narrower still that sends none (or something beyond it drops it)",
            evidence, fix=far_fix(said.router, said.mtu), hop="far end",
            breaks=[*breaks, fact("ptb-beyond", said.router)], needs=needs, fix_where="router",
        )  # fmt: skip
    if last.watched and last.left:
        return failed(
            f"{head}: it left the host and no Packet Too Big came back to the uplink (a hop "
            f"beyond the uplink narrower than {size} bytes sends none, or something beyond "
            "the uplink drops it)",
            evidence, fix=UPSTREAM_FIX, hop="upstream",
            breaks=[*breaks, fact("ptb-beyond", uplink or "the uplink")], needs=needs,
        )  # fmt: skip
    return failed(
        f"{head}, and no Packet Too Big came back"
        + (
            f" (it never left the host's uplink, {uplink})"
            if last.watched
            else " (the uplink was not watched: where it is lost is not known)"
        ),
        evidence, fix=UPSTREAM_FIX, hop="host" if last.watched else "unknown", breaks=breaks,
        needs=needs,
    )  # fmt: skip


def judge_tcp_exchange(
    r: PathMtu,
    *,
    tcp: tuple[DnsResult, DnsResult] | None,
    tcp_skipped: str | None,
    network: str,
) -> Judgement:
    """PMTU-02: a large TCP exchange completes: a DNS query padded to several full-size
    segments is answered where a small one is (TCP sizes its segments by the path MTU the
    container learnt: a Packet Too Big lost is a transfer that hangs). It covers the path to
    that nameserver only, which the diagnosis says."""
    if tcp is None:
        return not_observed(f"no large TCP exchange was tried: {tcp_skipped}", r.evidence)
    small_tcp, large_tcp = tcp
    evidence = [
        "over TCP from the container, a small query, then one padded to several full-size "
        "segments:",
        *small_tcp.lines(),
        *large_tcp.lines(),
        f"toward {r.target}:",
        *r.evidence,
    ]
    if not small_tcp.answered:
        return not_observed(
            f"even a small query over TCP to {small_tcp.server} failed ({small_tcp.error}): "
            "DNS-02 and RC-01 judge that server, no large exchange can be told from it",
            evidence,
        )
    if large_tcp.answered:
        return passed(
            f"a padded query over TCP to {large_tcp.server} (several full-size segments) was "
            f"answered in {large_tcp.elapsed_ms:.0f} ms (the path to that server)",
            evidence,
        )
    return failed(
        f"a padded query over TCP to {large_tcp.server} got no answer ({large_tcp.error}) where "
        "a small one did: full-size segments do not get through, large transfers hang",
        evidence,
        hop="unknown",
        fix=f"see PMTU-01 for where the Packet Too Big is lost; {UPSTREAM_FIX}",
        needs=[fact("pmtud", network), fact("icmp-errors", network), fact("path", network)],
    )


def refragment_fix(
    docker: str,
    uplink: str | None,
    *,
    target: str = "",
    gateway: str | None = None,
    path_mtu: int | None = None,
) -> Fix:
    """The host must know the path's MTU itself: it is what it refragments to. The command
    locks it on a route of the host's toward ``target`` (the destination beyond the narrower
    hop), through the host's default router: a forwarding host heeds only a locked route MTU."""
    up = uplink or "UPLINK"
    commands = (
        (f"ip -6 route replace {target} via {gateway} dev {uplink} mtu lock {path_mtu}",)
        if target and gateway and uplink and path_mtu
        else ()
    )
    text = (
        f"on Docker {docker or 'this host'}: where the host tracks connections (Docker's "
        "ip6tables rules: 26 with ip6tables on, 27 and later; or any conntrack rule of the "
        "site's) the kernel reassembles the containers' fragments and sends them on at its own "
        f"MTU, not the path's: give the host's route beyond {up} the path's MTU, locked (a "
        "forwarding host heeds only a locked route MTU), which it then refragments to: for "
        "each destination beyond the narrower hop, or on the default route where it is "
        f"configured, not learnt from RAs (ip -6 route replace default via GATEWAY dev {up} "
        "mtu lock PATH_MTU)"
    )
    return Fix(text, commands, docker=docker or None)


def judge_fragments(
    r: PathMtu, *, network: str, uplink: str | None, docker: str, gateway: str | None = None
) -> Judgement:
    """PMTU-03: a datagram larger than the link, which the container's kernel fragments at the
    MTU it holds toward the anchor, is answered."""
    evidence = r.evidence
    broken = _small_path_broken(r)
    if broken is not None:
        return broken
    if r.first == "too-big" and not r.learned_mtu:
        return not_observed(
            f"the container kept no smaller MTU toward {r.target} after a Packet Too Big "
            "(PMTU-01's finding): its fragments would be sized wrong, nothing to judge here",
            evidence,
        )
    if r.after is None:
        return not_observed(
            f"no fragmented datagram was sent to {r.target}: the full-size packet before it "
            f"{'was refused' if r.first == 'error' else 'vanished'} (PMTU-01)",
            evidence,
        )
    size = r.fragmented_size or 2 * r.link_mtu
    mtu = r.learned_mtu or r.link_mtu
    if r.after:
        return passed(
            f"a {size}-byte echo to {r.target}, fragmented by the container at mtu {mtu}, was "
            "answered",
            evidence,
        )
    needs = [fact("path", network), fact("icmp-errors", network)]
    if r.after_too_big is not None and r.after_too_big.mtu >= mtu:
        return failed(
            f"a {size}-byte echo to {r.target}, fragmented by the container at mtu {mtu}, drew "
            f"{r.after_too_big.text()}: something before that hop sent it on in larger pieces "
            "(this host reassembles container fragments and refragments at its own MTU)",
            evidence, hop="host",
            fix=refragment_fix(
                docker, uplink, target=r.target, gateway=gateway, path_mtu=r.after_too_big.mtu
            ),
            breaks=[fact("fragments", network), fact("refragment", uplink or "the uplink")],
            needs=[*needs, fact("pmtud", network)],
        )  # fmt: skip
    return failed(
        f"a {size}-byte echo to {r.target}, fragmented by the container at mtu {mtu}, got no "
        "answer while a small one did: fragmented datagrams are lost (a firewall dropping "
        "fragments, on the host or beyond)",
        evidence,
        fix="let IPv6 fragments of container traffic through (ip6tables -m frag, nft "
        "exthdr frag): they are part of the flows Docker's rules accept; any Docker version",
        hop="unknown", breaks=[fact("fragments", network)], needs=needs,
    )  # fmt: skip
