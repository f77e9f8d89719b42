"""One cause, many symptoms: after the checks judged, read every failure's facts together and
group the failures by cause.

Each failed item's diagnosis says which facts it found false (``breaks``) and which facts its
verdict rests on (``needs``; rules.judgement.FACTS). A failure that needs a fact another
failure broke is a symptom of it, unless that one also needs what this one broke (then neither
explains the other). Following those ties to the end gives the failures nothing explains: the
causes. Causes that broke the same identity fact (one firewall rule, one nameserver, one
sysctl) are one cause, whichever checks found it. A failure that explains nothing and that
nothing explains stands on its own, as a cause of its own.

The grouping never changes a verdict or an exit status and never hides a failure: it adds, to
each symptom, the cause and the facts that tied it there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from reports.results import CheckInfo, CheckResult
from rules.judgement import Fix, fact_matches, fact_text, is_identity, joined_fix


@dataclass(frozen=True, slots=True)
class Tie:
    """Why a failure is a symptom: the fact it needs that ``cause`` (one failure) broke."""

    cause: CheckResult
    facts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Symptom:
    result: CheckResult
    ties: tuple[Tie, ...]  # the path from the symptom to its cause, first tie first

    def explanation(self, catalog: dict[str, CheckInfo]) -> str:
        """Why it is tied to the cause, in words: "needs network v6net's forwarding path, which
        RT-04 … [v6net] found broken"."""
        steps = []
        for tie in self.ties:
            facts = "; ".join(fact_text(f) for f in tie.facts)
            steps.append(f"needs {facts}, which {tie.cause.title(catalog)} found broken")
        return ", and that ".join(steps)


@dataclass(frozen=True, slots=True)
class Cause:
    members: tuple[CheckResult, ...]  # the failures that found it (one fault), primary first
    symptoms: tuple[Symptom, ...]

    @property
    def primary(self) -> CheckResult:
        return self.members[0]

    @property
    def remedy(self) -> Fix | None:
        """The cause's fix: its primary's, with the commands of every failure that found the
        same fault (each network it covers), in order, each once; those of a fix that acts
        elsewhere (another party) are left to that fix."""
        return joined_fix([d for m in self.members for d in m.diagnoses])

    @property
    def hop(self) -> str | None:
        """Where the cause breaks, as its own evidence says (never the catalog's guess)."""
        said = [d.hop for d in self.primary.diagnoses if d.hop]
        return said[-1] if said else None

    def line(self, catalog: dict[str, CheckInfo]) -> str:
        """One line for a CI log: "RT-04 firewall forwards container traffic [v6net]: …"."""
        summary = self.primary.diagnoses[-1].diagnosis if self.primary.diagnoses else ""
        return f"{self.primary.title(catalog)}: {summary}"


def lend_causes(causes: Sequence[Cause]) -> None:
    """One story per failure: each symptom is shown with its (first) cause's fix and the hop
    its cause breaks at, not a guess of its own: its own evidence and verdict stay. Where the
    cause's evidence placed no hop, neither does the symptom's ("unknown")."""
    for cause in reversed(causes):  # the first cause, in the report's order, has the last word
        remedy, hop = cause.remedy, cause.hop or "unknown"
        for symptom in cause.symptoms:
            symptom.result.diagnoses[:] = [
                dataclasses.replace(d, remedy=remedy, hop=hop) for d in symptom.result.diagnoses
            ]


def facts_of(result: CheckResult) -> tuple[set[str], set[str]]:
    broken = {f for d in result.diagnoses for f in d.breaks}
    needed = {f for d in result.diagnoses for f in d.needs}
    return broken, needed


def _ties(needs: set[str], broken: set[str]) -> tuple[str, ...]:
    return tuple(sorted(n for n in needs if any(fact_matches(b, n) for b in broken)))


def find_causes(results: Sequence[CheckResult], order: Sequence[str] = ()) -> list[Cause]:
    """The run's causes, each with the failures it explains. ``order``: the check IDs in
    catalog order (a cause's primary member is the first of its members in it)."""
    failed = [r for r in results if r.outcome == "failed"]
    index = {id(r): i for i, r in enumerate(results)}
    raw = {id(r): facts_of(r) for r in failed}
    # only facts someone broke can tie, only facts someone needs can be tied to: the rest
    # (a container's own route nobody found broken…) is left out, so that items alike in
    # what matters share one signature and each pair of signatures is judged once
    all_broken = {f for b, _ in raw.values() for f in b}
    wild = {f.partition(":")[0] for f in all_broken if f.endswith(":*")}
    all_needed = {f for _, n in raw.values() for f in n}
    needed_kinds = {f.partition(":")[0] for f in all_needed}

    def useful_needs(needs: set[str]) -> frozenset[str]:
        return frozenset(n for n in needs if n in all_broken or n.partition(":")[0] in wild)

    def useful_breaks(broken: set[str]) -> frozenset[str]:
        return frozenset(
            b
            for b in broken
            if b in all_needed or (b.endswith(":*") and b.partition(":")[0] in needed_kinds)
        )

    facts = {k: (useful_breaks(b), useful_needs(n)) for k, (b, n) in raw.items()}
    by_fact: dict[str, list[CheckResult]] = {}
    for r in failed:
        for f in facts[id(r)][0]:
            by_fact.setdefault(
                f if not f.endswith(":*") else f.partition(":")[0] + ":*", []
            ).append(r)
    judged: dict[tuple[frozenset[str], ...], tuple[str, ...] | None] = {}
    # edges: a failure -> the failures whose broken facts it needs, with those facts
    edges: dict[int, list[Tie]] = {id(r): [] for r in failed}
    for r in failed:
        r_broken, r_needs = facts[id(r)]
        candidates: dict[int, CheckResult] = {}
        for n in r_needs:
            for other in (*by_fact.get(n, ()), *by_fact.get(n.partition(":")[0] + ":*", ())):
                candidates.setdefault(id(other), other)
        for other in candidates.values():
            if other is r:
                continue
            o_broken, o_needs = facts[id(other)]
            key = (r_broken, r_needs, o_broken, o_needs)
            if key not in judged:
                tied = _ties(set(r_needs), set(o_broken))
                judged[key] = tied if tied and not _ties(set(o_needs), set(r_broken)) else None
            found = judged[key]
            if found is not None:
                edges[id(r)].append(Tie(other, found))
    _break_cycles(failed, edges)
    roots = [r for r in failed if not edges[id(r)]]
    # roots that broke the same identity fact are one cause (union by shared fact)
    groups: list[list[CheckResult]] = []
    for r in roots:
        mine = {f for f in raw[id(r)][0] if is_identity(f)}
        joined = [g for g in groups if any(mine & raw[id(m)][0] for m in g)]
        merged = [m for g in joined for m in g] + [r]
        groups = [g for g in groups if g not in joined] + [merged]
    rank = {check: i for i, check in enumerate(order)}

    def position(r: CheckResult) -> tuple[int, int]:
        return rank.get(r.check or "", len(rank)), index[id(r)]

    groups = [sorted(g, key=position) for g in groups]
    groups.sort(key=lambda g: position(g[0]))
    group_of = {id(m): i for i, g in enumerate(groups) for m in g}
    chains = _nearest_causes(failed, edges, group_of)
    symptoms: list[list[Symptom]] = [[] for _ in groups]
    for r in failed:
        for g, chain in chains.get(id(r), {}).items():
            symptoms[g].append(Symptom(r, chain))
    return [Cause(tuple(g), tuple(s)) for g, s in zip(groups, symptoms, strict=True)]


def _break_cycles(failed: list[CheckResult], edges: dict[int, list[Tie]]) -> None:
    """Failures that explain each other round a cycle reach no root: the first of them (in run
    order) is made a cause, until every failure reaches one, so none goes unaccounted for."""
    while True:
        reaches = {id(r) for r in failed if not edges[id(r)]}
        grew = True
        while grew:
            grew = False
            for r in failed:
                if id(r) not in reaches and any(id(t.cause) in reaches for t in edges[id(r)]):
                    reaches.add(id(r))
                    grew = True
        stuck = [r for r in failed if id(r) not in reaches]
        if not stuck:
            return
        edges[id(stuck[0])] = []


def _nearest_causes(
    failed: list[CheckResult], edges: dict[int, list[Tie]], group_of: dict[int, int]
) -> dict[int, dict[int, tuple[Tie, ...]]]:
    """For each symptom, its nearest causes (by number of ties) and the chain to each: one
    breadth-first pass from every root at once, so a thousand symptoms cost one walk."""
    best: dict[int, dict[int, tuple[Tie, ...]]] = {}  # symptom -> cause group -> chain
    done = {id(r) for r in failed if not edges[id(r)]}
    level = [r for r in failed if id(r) in done]
    chain_of: dict[int, dict[int, tuple[Tie, ...]]] = {id(r): {group_of[id(r)]: ()} for r in level}
    waiting = [r for r in failed if id(r) not in done]
    while waiting and level:
        reached = {id(r) for r in level}
        nxt: list[CheckResult] = []
        for r in waiting:
            found: dict[int, tuple[Tie, ...]] = {}
            for tie in edges[id(r)]:
                if id(tie.cause) in reached:
                    for g, rest in chain_of[id(tie.cause)].items():
                        found.setdefault(g, (tie, *rest))
            if found:
                best[id(r)] = chain_of[id(r)] = found
                nxt.append(r)
        done |= {id(r) for r in nxt}
        waiting = [r for r in waiting if id(r) not in done]
        level = nxt
    return best
