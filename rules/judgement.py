"""What a judgement rule returns: pass, fail or not observed, with the reason and the evidence.

A rule (``rules.gw``, ``rules.dns``, ``rules.rc``,
``rules.rt``) is a plain function over frozen probe results and the profile values
it needs; the check in ``suites/`` turns a ``fail`` into its assertion (diagnosis, evidence,
fix, hop) and a ``not-observed`` into a skip with the diagnosis as the reason, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["pass", "fail", "not-observed"]


@dataclass(frozen=True, slots=True)
class Judgement:
    """One check's verdict on one item.

    ``diagnosis``: for a fail, what is wrong (one sentence); for a pass, what proved it; for
    not-observed, why nothing could be judged. ``hop``: where on the path it breaks, when the
    rule knows better than the check's usual place (reports.results.HOPS).
    """

    outcome: Outcome
    diagnosis: str
    evidence: tuple[str, ...]
    fix: str | None = None
    hop: str | None = None
    # for a fail: the facts it found false, and the facts its verdict rests on (see FACTS)
    breaks: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "pass"


def passed(diagnosis: str, evidence: Iterable[str] = ()) -> Judgement:
    return Judgement("pass", diagnosis, tuple(evidence))


def failed(
    diagnosis: str,
    evidence: Iterable[str] = (),
    *,
    fix: str | None,
    hop: str | None = None,
    breaks: Iterable[str] = (),
    needs: Iterable[str] = (),
) -> Judgement:
    return Judgement("fail", diagnosis, tuple(evidence), fix, hop, tuple(breaks), tuple(needs))


def not_observed(diagnosis: str, evidence: Iterable[str] = ()) -> Judgement:
    return Judgement("not-observed", diagnosis, tuple(evidence))


def worst_of(judgements: Sequence[Judgement]) -> Judgement:
    """One item's verdict over several places it looked (anchors, names): the first failure
    (its diagnosis counting the others), else the first that could not be observed, else a
    pass naming each; the evidence of all of them, the verdict's own first."""
    for outcome in ("fail", "not-observed"):
        hit = [j for j in judgements if j.outcome == outcome]
        if hit:
            j = hit[0]
            others = [line for k in judgements if k is not j for line in k.evidence]
            diagnosis = first_of([x.diagnosis for x in hit]) if outcome == "fail" else j.diagnosis
            return Judgement(
                j.outcome, diagnosis, (*j.evidence, *others), j.fix, j.hop,
                tuple(dict.fromkeys(b for x in hit for b in x.breaks)), j.needs,
            )  # fmt: skip
    return Judgement(
        "pass",
        "; ".join(j.diagnosis for j in judgements),
        tuple(line for j in judgements for line in j.evidence),
    )


def first_of(problems: Sequence[str]) -> str:
    """The first problem, and how many more there are: a diagnosis stays one line.

    The same words as ``reports.diagnosis.first_of``, which probes may not import."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"


# --- facts: how one failure is tied to another's cause (reports.causes) -------------------------
# A fact is "kind:subject", e.g. "path:v6net". A failed item *breaks* the facts it found false
# and *needs* the facts its own verdict rests on. A failure that needs what another one broke is
# that one's symptom, unless it found the fact false itself and the other needs what it broke
# (then neither explains the other). Subject "*" stands for every subject of the kind. An
# *identity* kind names one fault (a rule, a nameserver, a sysctl): root failures that break the
# same identity fact are one cause, whichever checks found it.
@dataclass(frozen=True, slots=True)
class FactKind:
    words: str  # "{}" is the subject
    identity: bool = False


FACTS: dict[str, FactKind] = {
    "path": FactKind(
        "the forwarding path of network {} (through this host, beyond the uplink and back)"
    ),
    "inbound": FactKind("the way in to network {}'s containers from beyond the uplink"),
    "icmp-errors": FactKind("the ICMPv6 errors (packet too big…) back to network {}"),
    "pmtud": FactKind("path MTU discovery from network {}'s containers (Packet Too Big back)"),
    "service": FactKind("the service at {}", identity=True),
    "synth": FactKind("a AAAA record (native or synthesized by DNS64) for {}", identity=True),
    "nat64": FactKind("the NAT64 translating {}", identity=True),
    "fragments": FactKind("fragmented datagrams from network {}'s containers"),
    "refragment": FactKind(
        "this host's sending on of container fragments at the path's MTU beyond {}", identity=True
    ),
    "ptb-beyond": FactKind("the Packet Too Big from beyond {} back to this host", identity=True),
    "gateway": FactKind("the gateway address of network {} on its bridge", identity=True),
    "route": FactKind("the IPv6 address and default route of container {}", identity=True),
    "link": FactKind("the gateway's answer to container {}"),
    "reach": FactKind("the anchors' answers to container {}"),
    "mode": FactKind("the IPv6 mode of network {}", identity=True),
    "sysctl": FactKind("this host's {}", identity=True),
    "rule": FactKind("the firewall's {}", identity=True),
    "prefix": FactKind("the upstream's route to this host for {}", identity=True),
    "nameserver": FactKind("nameserver {} answering over IPv6", identity=True),
    "name": FactKind("the records of {} in its zone", identity=True),
    "resolv": FactKind("the resolv.conf of {}", identity=True),
    "v6-nameservers": FactKind(
        "nameservers network {} can reach (it has no IPv6; its nameservers are IPv6)",
        identity=True,
    ),
    "fallback": FactKind(
        "the nameservers Docker gives network {} (not its public fallback)", identity=True
    ),
    "upstreams": FactKind(
        "nameservers Docker's embedded DNS (127.0.0.11) can forward to on network {}",
        identity=True,
    ),
    "lookup": FactKind("name resolution in {}"),
    "router": FactKind("a router answering on {}", identity=True),
}


def fact(kind: str, subject: str) -> str:
    """A fact of a known kind about ``subject``: ``fact("path", "v6net")``."""
    if kind not in FACTS:
        raise ValueError(f"unknown fact kind {kind!r}")
    return f"{kind}:{subject}"


def fact_text(value: str) -> str:
    """A fact in words: "network v6net's forwarding path (…)"."""
    kind, _, subject = value.partition(":")
    known = FACTS.get(kind)
    if known is None:
        return value
    return known.words.format("every network" if subject == "*" else subject).replace(
        "network every network", "every network"
    )


def fact_matches(broken: str, needed: str) -> bool:
    """Whether a broken fact is the needed one (a broken "path:*" is every network's path)."""
    kind, _, subject = broken.partition(":")
    return broken == needed or (subject == "*" and needed.partition(":")[0] == kind)


def is_identity(value: str) -> bool:
    known = FACTS.get(value.partition(":")[0])
    return known is not None and known.identity


def nameserver_fact(server: str) -> str:
    """``nameserver:ADDRESS``, the zone left off: the same server however it was asked."""
    return fact("nameserver", server.split("%", 1)[0])
