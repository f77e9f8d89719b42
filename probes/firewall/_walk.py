"""The one chain walker: a modelled packet through a base chain and every chain it jumps or goes
to, as the kernel would, for whatever a caller searches for: the forward walk (RT-04) a rule or
policy that drops the packet, the NAT search (RT-06) a MASQUERADE / SNAT rule.

The walk is three-valued. A rule whose matches we cannot evaluate neither matches nor fails: it
is noted, what it might find is kept apart as possible only, and (where it could end the chain)
it makes whatever is found after it doubtful. What each caller finds, and how it treats such a
rule, is its ``Search``; the walk itself is the same for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from probes.firewall._model import MAX_CHAIN_DEPTH, Action, Chain, Packet, Rule, Table

Found = TypeVar("Found")
# "stop": a verdict that ends the walk with nothing found (ACCEPT in a filter chain; ACCEPT,
# DROP or REJECT in a nat chain). "return": back to the chain that jumped here.
Stop = Literal["stop"]
_Outcome = Literal["stop", "return"] | None
# The jump path: the chains from the base chain to the one holding the rule.
Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Search(Generic[Found]):
    """What a walk looks for, and how it treats a rule it cannot evaluate."""

    # What a matching rule's action finds (a Drop, a NatRule), or None: not what we look for.
    # Its last argument is what the find depends on besides the doubts met on the way there.
    find: Callable[[Walk[Found], Chain, Rule, Action, Path, tuple[str, ...]], Found | None]
    # A rule that may match: follow its jump or its target as if it did (its finds are then
    # possible only), or just note it.
    follow_doubtful: bool = False
    # Whether a find a rule may make casts doubt on what is found after it. (A NAT rule that
    # may apply does not: matching or not, a NAT rule after it still NATs the packet.)
    doubtful_find_doubts: bool = True
    # Follow a readable verdict map's branches; otherwise a vmap is a target we do not model.
    read_vmaps: bool = False
    # The note for a target we do not model; fields: chain, rule, target.
    unknown_target: str = "{chain}: {rule} — target {target} decides in ways we do not model"


@dataclass(slots=True)
class Walk(Generic[Found]):
    """One packet through one base chain; collects what it could not decide on the way."""

    table: Table
    packet: Packet
    search: Search[Found]
    doubts: list[str] = field(default_factory=list)  # what makes a find after them doubtful
    notes: list[str] = field(default_factory=list)  # every rule met that we could not evaluate
    maybe: list[Found] = field(default_factory=list)  # finds of rules that may or may not apply
    unresolved: list[str] = field(default_factory=list)  # targets and jumps we could not follow

    def run(self, name: str, path: Path) -> Found | Stop | None:
        """What the chain ``name`` finds, "stop", or None: fell off its end (or returned)."""
        chain = self.table.chains.get(name)
        if chain is None or len(path) > MAX_CHAIN_DEPTH or name in path[:-1]:
            problem = "no such chain" if chain is None else "chain loop or too deep"
            self._unresolved(f"jump to {name}: {problem}")
            return None
        for rule in chain.rules:
            hit, why = rule.test(self.packet)
            if hit is False:
                continue
            if hit is None:
                note = f"{chain.name}: {rule.text} — cannot evaluate: {', '.join(why)}"
                self.notes.append(note)
                if rule.action.kind != "continue":  # matching or not, it decides nothing
                    self._maybe_take(chain, rule, rule.action, path, note)
                continue
            outcome = self._take(chain, rule, rule.action, path)
            if outcome == "return":
                return None
            if outcome is not None:
                return outcome
        return None

    def _take(self, chain: Chain, rule: Rule, action: Action, path: Path) -> Found | _Outcome:
        """Apply a matching rule's action: a find, a verdict, a return, or go on (None)."""
        found = self.search.find(self, chain, rule, action, path, ())
        if found is not None:
            return found
        if action.kind in ("accept", "drop", "reject"):
            return "stop"
        if action.kind == "return":
            return "return"
        if action.kind in ("jump", "goto") and action.target is not None:
            outcome = self.run(action.target, (*path, action.target))
            if outcome is not None or action.kind == "jump":
                return outcome
            return "return"  # a goto's chain ending returns past the chain that went there
        if action.branches and self.search.read_vmaps:
            return self._vmap(chain, rule, path)
        if action.kind == "unknown":
            note = self.search.unknown_target
            self._unresolved(note.format(chain=chain.name, rule=rule.text, target=action.target))
        return None

    def _vmap(self, chain: Chain, rule: Rule, path: Path) -> Found | _Outcome:
        """A map lookup takes at most one element: the one whose key the packet has."""
        for match, action in rule.action.branches:
            hit = match.test(self.packet)
            if hit is True:
                return self._take(chain, rule, action, path)
            if hit is None:
                note = f"{chain.name}: {rule.text} — cannot evaluate its key: {match.why_unknown()}"
                self.notes.append(note)
                self._maybe_take(chain, rule, action, path, note)
        return None

    def _maybe_take(self, chain: Chain, rule: Rule, action: Action, path: Path, note: str) -> None:
        """A rule that may or may not apply: what it finds is possible only, and whatever it
        may do makes what comes after it doubtful."""
        found = self.search.find(self, chain, rule, action, path, (note,))
        if found is not None:
            self.maybe.append(found)
            if self.search.doubtful_find_doubts:
                self.doubts.append(note)
            return
        self.doubts.append(note)
        if self.search.follow_doubtful:
            outcome = self._take(chain, rule, action, path)
            if outcome is not None and not isinstance(outcome, str):  # not "stop" or "return"
                self.maybe.append(outcome)

    def _unresolved(self, note: str) -> None:
        self.notes.append(note)
        self.doubts.append(note)
        self.unresolved.append(note)


def via(path: Path) -> str:
    """`` (via FORWARD → DOCKER-USER)`` for a find past a jump, for its evidence line."""
    return f" (via {' → '.join(path)})" if len(path) > 1 else ""


def unproven(uncertain: tuple[str, ...]) -> str:
    """What a find depends on, for the end of its evidence line; nothing when it is proven."""
    return f"; not proven, it depends on: {'; '.join(uncertain)}" if uncertain else ""


def walk_base_chain(
    table: Table, chain: Chain, packet: Packet, search: Search[Found]
) -> tuple[Walk[Found], Found | Stop | None]:
    """Walk one base chain: the walk (its notes, doubts, possible finds) and what it ended
    with (a find, "stop", or None: the end of the chain, where its policy decides)."""
    walk = Walk(table, packet, search)
    if table.incomplete:
        walk.doubts.append(table.incomplete)
    return walk, walk.run(chain.name, (chain.name,))
