"""The one verdict type: what a rule returns and what the reports read.

A rule (``rules.gw``, ``rules.rt``, ``rules.dns``…) is a plain function over frozen probe
results and the profile values it needs, returning a :class:`Judgement`: pass, fail or not
observed, with the reason, the evidence, the facts it found broken and rests on, the hop its
evidence points to and the fix as data (:class:`Fix`). The check in ``suites/`` holds it
(``suites.plugin.site.hold``): a fail fails the item with it, a not-observed skips with the
reason, never a pass; the reports render it.
"""

from __future__ import annotations

import dataclasses
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


# who must act for a fix (results.json's ``fix_where``): this host, or someone else
FIX_WHERE = (
    "host", "container", "upstream router", "router", "DNS server", "NAT64 gateway", "far end",
    "profile",
)  # fmt: skip
# the values a fix names for another party to act on (results.json's ``fix_values``), each
# taken from the evidence (or the profile, the site's own word): never a placeholder
FIX_VALUES = {
    "listen": "an address the DNS server must answer DNS on over IPv6 (port 53)",
    "rdnss": "a nameserver the router must announce (RDNSS, RFC 8106)",
    "dnssl": "a search domain the router must announce (DNSSL, RFC 8106)",
    "lifetime": "the least lifetime, in seconds, of the RDNSS and DNSSL the router announces",
    "dns64-off": "a resolver that must stop synthesizing AAAA (DNS64)",
    "nat64-prefix": "the NAT64 prefix the resolvers synthesize from",
    "send-packet-too-big": "the router that must send ICMPv6 Packet Too Big (and let it out)",
}
# where a fix given only in words acts, from the hop the failure's evidence points to
_WHERE_OF_HOP = {"container": "container", "upstream": "upstream router", "far end": "far end"}


@dataclass(frozen=True, slots=True)
class Fix:
    """What heals the host, as data: what to change in words, the commands where there are
    any (each a string a shell run there runs, in order; ``where`` says who runs them: this
    host's root, or another party in FIX_WHERE), and the Docker version and firewall backend
    they are for (None: any).

    ``values``: for a fix another party carries out in its own software (which this host
    cannot know, so no commands), the concrete values it needs, as (name, value) pairs, names
    from FIX_VALUES: the address its DNS server must listen on, the RDNSS its router must
    announce… The text names each of them too: a person reads the same."""

    text: str
    commands: tuple[str, ...] = ()
    docker: str | None = None
    backend: str | None = None
    where: str = "host"
    values: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.where not in FIX_WHERE:
            raise ValueError(f"fix for {self.where!r}: not one of {FIX_WHERE}")
        for name, value in self.values:
            if name not in FIX_VALUES:
                raise ValueError(f"fix value {name!r}: not one of {tuple(FIX_VALUES)}")
            if value not in self.text:
                raise ValueError(f"fix value {name}={value!r} is not named in its text")

    def value_map(self) -> dict[str, list[str]]:
        """The values by name, each once, in order (results.json's ``fix_values``)."""
        out: dict[str, list[str]] = {}
        for name, value in self.values:
            if value not in out.setdefault(name, []):
                out[name].append(value)
        return out

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
        lines += fix_lines(self.remedy)
        return "\n".join(lines)


def fix_lines(fix: Fix | None) -> list[str]:
    """A fix as text: what to change, and its commands, one per line, to paste."""
    if fix is None:
        return []
    by = "" if fix.where == "host" else f" (for the {fix.where})"
    lines = [f"fix{by}: {fix.text}"]
    if fix.commands:
        on = "on this host" if fix.where == "host" else f"on the {fix.where}"
        lines.append(f"  commands to run {on}, in order:")
        lines += [f"    {command}" for command in fix.commands]
    return lines


def as_fix(fix: str | Fix | None, hop: str | None = None, where: str | None = None) -> Fix | None:
    """A fix given in words acts where ``where`` says, else where the failure's evidence
    points (the host, unless it points at the container or beyond the uplink)."""
    if isinstance(fix, str):
        return Fix(fix, where=where or _WHERE_OF_HOP.get(hop or "", "host"))
    return fix


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
    fix_where: str | None = None,
) -> Judgement:
    """A failure; ``fix_where``: who acts on a fix given in words (FIX_WHERE), where it is not
    where the hop points."""
    return Judgement(
        "fail", diagnosis, tuple(evidence), as_fix(fix, hop, fix_where), hop, tuple(breaks),
        tuple(needs),
    )  # fmt: skip


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
                j.outcome, diagnosis, (*j.evidence, *others), joined_fix(hit), j.hop,
                tuple(dict.fromkeys(b for x in hit for b in x.breaks)), j.needs,
            )  # fmt: skip
    return Judgement(
        "pass",
        "; ".join(j.diagnosis for j in judgements),
        tuple(line for j in judgements for line in j.evidence),
    )


def joined_fix(judgements: Sequence[Judgement]) -> Fix | None:
    """The first judgement's fix, with the commands and values of every fix for the same party
    (each place it looked needs its own), in order, each once; a value joins only where the
    text names it (the first fix's text, else the words of the fix that brings it)."""
    fixes = [j.remedy for j in judgements if j.remedy is not None]
    if not fixes:
        return None
    first = fixes[0]
    same = [f for f in fixes if f.where == first.where]
    commands = (c for f in same for c in f.commands)
    values = tuple(dict.fromkeys(v for f in same for v in f.values))
    text = first.text
    for f in same:
        if any(value not in text for _, value in f.values):
            text = text if f.text in text else f"{text}; {f.text}"
    return dataclasses.replace(
        first, text=text, commands=tuple(dict.fromkeys(commands)), values=values
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
    "default-router": FactKind(
        "the IPv6 default route of {} (through a router on its uplink that leads on)",
        identity=True,
    ),
    "client-address": FactKind(
        "IPv6 clients' own addresses reaching containers through published ports ({})",
        identity=True,
    ),
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
