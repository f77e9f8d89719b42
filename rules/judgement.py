"""The one verdict type: what a rule returns and what the reports read.

A rule (``rules.gw``, ``rules.rt``, ``rules.dns``…) is a plain function over frozen probe
results and the profile values it needs, returning a :class:`Judgement`: pass, fail or not
observed, with the reason, the evidence, the facts it found broken and rests on, the hop its
evidence points to and the fix as data (:class:`Fix`). The check in ``suites/`` holds it
(``suites.plugin.site.hold``): a fail fails the item with it, a not-observed skips with the
reason, never a pass; the reports render it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["pass", "fail", "not-observed"]

# what each hop of the path picture is, for the failure text
HOP_WORDS = {
    "container": "in the container",
    "bridge": "at the Docker bridge",
    "host": "on this host (its forwarding, firewall or routes)",
    "uplink": "on the uplink",
    "upstream": "beyond the uplink (the upstream router or its route to this host)",
    "far end": "at the far end",
    "unknown": "not known: this check's evidence cannot tell (nothing came back to say where)",
}


@dataclass(frozen=True, slots=True)
class Fix:
    """What heals the host, as data: what to change in words, the commands where there are
    any, and the Docker version and firewall backend they are for (None: any)."""

    text: str
    commands: tuple[str, ...] = ()
    docker: str | None = None
    backend: str | None = None

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Judgement:
    """One check's verdict on one item.

    ``diagnosis``: for a fail, what is wrong (one sentence); for a pass, what proved it; for
    not-observed, why nothing could be judged. ``hop``: where on the path it breaks, when the
    rule knows better than the check's usual place (reports.results.HOPS). ``breaks`` and
    ``needs``: for a fail, the facts it found false and the facts its verdict rests on (FACTS).
    """

    outcome: Outcome
    diagnosis: str
    evidence: tuple[str, ...]
    remedy: Fix | None = None
    hop: str | None = None
    breaks: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "pass"

    @property
    def fix(self) -> str | None:
        """The fix in words (``remedy.text``)."""
        return self.remedy.text if self.remedy is not None else None

    def render(self) -> str:
        """The judgement as a failure's text: a CI log shows this alone, so it says where, as
        the report's path picture does."""
        lines = [self.diagnosis]
        if self.hop:
            lines.append(f"where it breaks: {HOP_WORDS.get(self.hop, self.hop)}")
        if self.evidence:
            lines.append("evidence:")
            lines += [f"  {line}" for line in self.evidence]
        if self.fix:
            lines.append(f"fix: {self.fix}")
        return "\n".join(lines)


def _remedy(fix: str | Fix | None) -> Fix | None:
    return Fix(fix) if isinstance(fix, str) else fix


def passed(diagnosis: str, evidence: Iterable[str] = ()) -> Judgement:
    return Judgement("pass", diagnosis, tuple(evidence))


def failed(
    diagnosis: str,
    evidence: Iterable[str] = (),
    *,
    fix: str | Fix | None,
    hop: str | None = None,
    breaks: Iterable[str] = (),
    needs: Iterable[str] = (),
) -> Judgement:
    return Judgement(
        "fail", diagnosis, tuple(evidence), _remedy(fix), hop, tuple(breaks), tuple(needs)
    )


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
                j.outcome, diagnosis, (*j.evidence, *others), j.remedy, j.hop,
                tuple(dict.fromkeys(b for x in hit for b in x.breaks)), j.needs,
            )  # fmt: skip
    return Judgement(
        "pass",
        "; ".join(j.diagnosis for j in judgements),
        tuple(line for j in judgements for line in j.evidence),
    )


def first_of(problems: Sequence[str]) -> str:
    """The first problem, and how many more there are: a diagnosis stays one line."""
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
    "ula": FactKind(
        "the ULA prefix {} containers' IPv6 sources come from (RFC 6724 ranks IPv4 above it)",
        identity=True,
    ),
    "gai": FactKind("the /etc/gai.conf of {}", identity=True),
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
