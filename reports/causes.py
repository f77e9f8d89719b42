"""One cause, many symptoms: after the checks judged, read every failure's facts together and
group the failures by cause.

Each failed item's diagnosis says which facts it found false (``breaks``) and which facts its
verdict rests on (``needs``; probes.judgement.FACTS). A failure that needs a fact another
failure broke is a symptom of it, unless that one also needs what this one broke (then neither
explains the other). Following those ties to the end gives the failures nothing explains: the
causes. Causes that broke the same identity fact (one firewall rule, one nameserver, one
sysctl) are one cause, whichever checks found it. A failure that explains nothing and that
nothing explains stands on its own, as a cause of its own.

The grouping never changes a verdict or an exit status and never hides a failure: it adds, to
each symptom, the cause and the facts that tied it there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from probes.judgement import fact_matches, fact_text, is_identity
from reports.results import CheckInfo, CheckResult


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

    def line(self, catalog: dict[str, CheckInfo]) -> str:
        """One line for a CI log: "RT-04 firewall forwards container traffic [v6net]: …"."""
        summary = self.primary.diagnoses[-1].summary if self.primary.diagnoses else ""
        return f"{self.primary.title(catalog)}: {summary}"


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
    facts = {id(r): facts_of(r) for r in failed}
    # edges: a failure -> the failures whose broken facts it needs, with those facts
    edges: dict[int, list[Tie]] = {id(r): [] for r in failed}
    for r in failed:
        r_broken, r_needs = facts[id(r)]
        for other in failed:
            if other is r:
                continue
            o_broken, o_needs = facts[id(other)]
            tied = _ties(r_needs, o_broken)
            if tied and not _ties(o_needs, r_broken):
                edges[id(r)].append(Tie(other, tied))
    roots = [r for r in failed if not edges[id(r)]]
    # roots that broke the same identity fact are one cause (union by shared fact)
    groups: list[list[CheckResult]] = []
    for r in roots:
        mine = {f for f in facts[id(r)][0] if is_identity(f)}
        joined = [g for g in groups if any(mine & facts[id(m)][0] for m in g)]
        merged = [m for g in joined for m in g] + [r]
        groups = [g for g in groups if g not in joined] + [merged]
    rank = {check: i for i, check in enumerate(order)}

    def position(r: CheckResult) -> tuple[int, int]:
        return rank.get(r.check or "", len(rank)), results.index(r)

    groups = [sorted(g, key=position) for g in groups]
    groups.sort(key=lambda g: position(g[0]))
    group_of = {id(m): i for i, g in enumerate(groups) for m in g}
    symptoms: list[list[Symptom]] = [[] for _ in groups]
    for r in failed:
        if not edges[id(r)]:
            continue
        chains = _chains_to_roots(r, edges)
        shortest = min(len(c) for c in chains)
        for chain in chains:  # the nearest causes only: a longer way round explains less
            if len(chain) == shortest:
                symptoms[group_of[id(chain[-1].cause)]].append(Symptom(r, chain))
    return [
        Cause(tuple(g), tuple(_one_per_result(s))) for g, s in zip(groups, symptoms, strict=True)
    ]


def _chains_to_roots(start: CheckResult, edges: dict[int, list[Tie]]) -> list[tuple[Tie, ...]]:
    """The shortest chain of ties from ``start`` to each root it reaches (breadth first)."""
    found: dict[int, tuple[Tie, ...]] = {}
    frontier: list[tuple[CheckResult, tuple[Tie, ...]]] = [(start, ())]
    seen = {id(start)}
    while frontier:
        nxt: list[tuple[CheckResult, tuple[Tie, ...]]] = []
        for node, chain in frontier:
            for tie in edges[id(node)]:
                if id(tie.cause) in seen:
                    continue
                seen.add(id(tie.cause))
                path = (*chain, tie)
                if edges[id(tie.cause)]:
                    nxt.append((tie.cause, path))
                else:
                    found.setdefault(id(tie.cause), path)
        frontier = nxt
    return list(found.values())


def _one_per_result(symptoms: list[Symptom]) -> list[Symptom]:
    """A symptom tied to two members of one cause is listed once (by its shortest tie)."""
    best: dict[int, Symptom] = {}
    for s in symptoms:
        if id(s.result) not in best or len(s.ties) < len(best[id(s.result)].ties):
            best[id(s.result)] = s
    return sorted(best.values(), key=lambda s: symptoms.index(s))
