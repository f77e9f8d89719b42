"""The one chain walker: a modelled packet through a base chain and every chain it jumps or goes
to, as the kernel would, for whatever a caller searches for: the forward walk (RT-04) a rule or
policy that drops the packet, the NAT search (RT-06) a MASQUERADE / SNAT rule.

The walk is three-valued. A rule whose matches we cannot evaluate neither matches nor fails: it
is noted, what it might find is kept apart as possible only, and (where it could end the chain)
it makes whatever is found after it doubtful. What each caller finds, and how it treats such a
rule, is its ``Search``; the walk itself is the same for both.

It is linear in the rule set's size for each packet. A chain's outcome for a packet does not
depend on how the walk got there, so each chain is walked once per packet (``_Walker``): its
*summary* lists, in order, what it met (notes, doubts, possible finds, the summaries of the
chains it jumped or went to) and how it ended (a find, a verdict, or back to its caller). The
answer for a base chain is then read off the summaries in the kernel's order (``_Replay``),
each summary once: doubts accumulate in that order, so a find is doubtful exactly when the
rules before it on the way make it so. A chain reached again by another way adds nothing new:
its finds were reported by the way it was first reached. Jumps are followed with an explicit
stack, so a legal ruleset's depth is no limit; a jump to a chain already on the stack (a loop,
which no kernel loads) is not followed and is noted as unresolved.

Packets that agree on every field the chains reached read (``_reads``) share their walk and
its replay: only the finds are made again, with each packet. What is worked out stays with the
table (``Table.memo``), for the next judgement of it. A walk lists at most
``MAX_POSSIBLE_SHOWN`` possible finds and counts the rest (``Walked.more``): 10,000 fail2ban
rules we cannot evaluate are 10,000 possible drops for each packet, and listing each with what
it depends on is what made such a rule set cost seconds and hundreds of MB.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Generic, Literal, TypeVar

from probes.firewall._model import Action, Chain, OutOfTime, Packet, Rule, Table
from probes.firewall._reads import ALL, chain_reads, projection

Found = TypeVar("Found")
# "stop": a verdict that ends the walk with nothing found (ACCEPT in a filter chain; ACCEPT,
# DROP or REJECT in a nat chain).
Stop = Literal["stop"]
# The jump path: the chains from the base chain to the one holding the rule.
Path = tuple[str, ...]

# How many of the doubts a find depends on its evidence lists; the rest are counted. A find
# past 8,000 fail2ban rules depends on all of them, and listing each for each find is quadratic.
MAX_DOUBTS_SHOWN = 16
# How many chains of a jump path the evidence names (the first ones and the last).
MAX_PATH_SHOWN = 64
# How many possible finds (doubtful drops, NAT rules that may apply) one walk of a base chain
# lists; the rest are counted.
MAX_POSSIBLE_SHOWN = 64
# Seconds the judgement of one rule set may take, unless the caller gives a deadline.
JUDGE_TIMEOUT = 20.0
_TICKS_PER_CLOCK_READ = 512


@dataclass(frozen=True, slots=True)
class Deadline:
    """When the judgement of a rule set must be done; one for all the walks of a judgement."""

    at: float  # time.monotonic()
    seconds: float  # the budget it was made with, for the message

    @classmethod
    def after(cls, seconds: float = JUDGE_TIMEOUT) -> Deadline:
        return cls(time.monotonic() + seconds, seconds)

    def check(self, where: str) -> None:
        if time.monotonic() > self.at:
            raise OutOfTime(where, f"its rules could not be judged within {self.seconds:g}s")


@dataclass(frozen=True, slots=True)
class Spot:
    """Where a find is made: the table, the packet, the chain holding the rule, the rule's
    text (or the policy), its action, the jump path and what the find depends on."""

    table: Table
    packet: Packet
    chain: Chain
    rule: str
    action: Action
    path: Path
    uncertain: tuple[str, ...]  # empty: proven


@dataclass(frozen=True, slots=True)
class Search(Generic[Found]):
    """What a walk looks for, and how it treats a rule it cannot evaluate."""

    # Whether a matching rule's action is what we look for (a drop; a NAT target).
    wants: Callable[[Action], bool]
    # The find, made where it is reported.
    make: Callable[[Spot], Found]
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


# --- summaries: one chain's walk for one packet --------------------------------------------


@dataclass(frozen=True, slots=True)
class _Site:
    """A rule whose action is what the search looks for, and what its own doubt is."""

    chain: Chain
    rule: str
    action: Action
    extra: tuple[str, ...] = ()  # the rule's own doubt, when it may or may not match


@dataclass(frozen=True, slots=True)
class _Below:
    """The chains from a summary's chain down to a find's (a linked list: O(1) per level)."""

    name: str
    rest: _Below | None


@dataclass(frozen=True, slots=True)
class _Found:
    """A definite find that ended a chain, with the chains below the summary's own."""

    site: _Site
    below: _Below | None = None
    depth: int = 0  # the length of ``below``

    def through(self, name: str) -> _Found:
        return _Found(self.site, _Below(name, self.below), self.depth + 1)


_STOP: Stop = "stop"
_RETURN: Literal["return"] = "return"
_Outcome = _Found | Literal["stop", "return"] | None

# What a chain met, in order. Kinds: a note (we could not evaluate a rule), a doubt (it could
# have ended the chain), both plus unresolved (a target we do not model, a missing chain, a
# loop), a possible find here, a chain jumped or gone to, a possible find ending such a chain.
_NOTE, _DOUBT, _UNRESOLVED, _MAYBE, _SUB, _MAYBE_END = range(6)
_Event = tuple[int, object] | tuple[int, object, str]


@dataclass(frozen=True, slots=True)
class _Summary:
    name: str
    events: tuple[_Event, ...]
    end: _Found | Stop | None  # None: fell off its end, or returned


# What a jump's target is, when it is no summary.
_MISSING = "no such chain"
_LOOP = "chain loop: it is on the way here already"
_Request = Generator[str, "_Summary | str", _Outcome]


@dataclass(slots=True)
class _Walker(Generic[Found]):
    """Summaries of one table's chains for one packet, each chain walked at most once."""

    table: Table
    packet: Packet
    search: Search[Found]
    deadline: Deadline
    memo: dict[str, _Summary] = field(default_factory=dict)
    ticks: int = 0
    # Each note once, shared by every walk of the table: rule id and why -> text.
    notes: dict[tuple[int, tuple[str, ...]], str] = field(default_factory=dict)

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks % _TICKS_PER_CLOCK_READ == 0:
            self.deadline.check(f"{self.table.source} {self.table.label}")

    def summary(self, name: str) -> _Summary:
        """The chain ``name``'s summary, walking it (and what it jumps to) if need be. An
        explicit stack of chain walks, each a generator that yields the chain it jumps to."""
        if name in self.memo:
            return self.memo[name]
        stack: list[tuple[str, Generator[str, _Summary | str, _Summary]]] = [
            (name, self._chain(name))
        ]
        on_stack = {name}
        answer: _Summary | str | None = None
        while True:
            current, walking = stack[-1]
            try:
                target = walking.send(answer)  # type: ignore[arg-type]
            except StopIteration as done:
                summary: _Summary = done.value
                self.memo[current] = summary
                stack.pop()
                on_stack.discard(current)
                if not stack:
                    return summary
                answer = summary
                continue
            if target in self.memo:
                answer = self.memo[target]
            elif target in on_stack:
                answer = _LOOP
            elif target not in self.table.chains:
                answer = _MISSING
            else:
                stack.append((target, self._chain(target)))
                on_stack.add(target)
                answer = None

    def _chain(self, name: str) -> Generator[str, _Summary | str, _Summary]:
        chain = self.table.chains[name]
        events: list[_Event] = []
        packet = self.packet
        for rule in chain.rules:
            self.ticks += 1
            if not self.ticks % _TICKS_PER_CLOCK_READ:
                self.deadline.check(f"{self.table.source} {self.table.label}")
            hit, why = rule.test(packet)
            if hit is False:
                continue
            if hit is None:
                note = self.notes.get((id(rule), why))
                if note is None:
                    note = f"{chain.name}: {rule.text} — cannot evaluate: {', '.join(why)}"
                    self.notes[(id(rule), why)] = note
                events.append((_NOTE, note))
                if rule.action.kind != "continue":  # matching or not, it decides nothing
                    yield from self._maybe_take(events, chain, rule, rule.action, note)
                continue
            outcome = yield from self._take(events, chain, rule, rule.action)
            if outcome == _RETURN:
                return _Summary(name, tuple(events), None)
            if outcome is not None:
                return _Summary(name, tuple(events), outcome)
        return _Summary(name, tuple(events), None)

    def _take(self, events: list[_Event], chain: Chain, rule: Rule, action: Action) -> _Request:
        """Apply a matching rule's action: a find, a verdict, a return, or go on (None)."""
        if self.search.wants(action):
            return _Found(_Site(chain, rule.text, action))
        if action.kind in ("accept", "drop", "reject"):
            return _STOP
        if action.kind == "return":
            return _RETURN
        if action.kind in ("jump", "goto") and action.target is not None:
            sub = yield action.target
            outcome: _Outcome = None
            if isinstance(sub, str):
                events.append((_UNRESOLVED, f"jump to {action.target}: {sub}"))
            else:
                events.append((_SUB, sub, action.target))
                end = sub.end
                outcome = end.through(action.target) if isinstance(end, _Found) else end
            if outcome is not None or action.kind == "jump":
                return outcome
            return _RETURN  # a goto's chain ending returns past the chain that went there
        if action.branches and self.search.read_vmaps:
            return (yield from self._vmap(events, chain, rule))
        if action.kind == "unknown":
            note = self.search.unknown_target
            text = note.format(chain=chain.name, rule=rule.text, target=action.target)
            events.append((_UNRESOLVED, text))
        return None

    def _vmap(self, events: list[_Event], chain: Chain, rule: Rule) -> _Request:
        """A map lookup takes at most one element: the one whose key the packet has."""
        for match, action in rule.action.branches:
            hit = match.test(self.packet)
            if hit is True:
                return (yield from self._take(events, chain, rule, action))
            if hit is None:
                note = f"{chain.name}: {rule.text} — cannot evaluate its key: {match.why_unknown()}"
                events.append((_NOTE, note))
                yield from self._maybe_take(events, chain, rule, action, note)
        return None

    def _maybe_take(
        self, events: list[_Event], chain: Chain, rule: Rule, action: Action, note: str
    ) -> Generator[str, _Summary | str, None]:
        """A rule that may or may not apply: what it finds is possible only, and whatever it
        may do makes what comes after it doubtful."""
        if self.search.wants(action):
            events.append((_MAYBE, _Site(chain, rule.text, action, (note,))))
            if self.search.doubtful_find_doubts:
                events.append((_DOUBT, note))
            return
        events.append((_DOUBT, note))
        if self.search.follow_doubtful:
            outcome = yield from self._take(events, chain, rule, action)
            if isinstance(outcome, _Found):
                events.append((_MAYBE_END, outcome))


# --- the answer for a base chain: the summaries read in the kernel's order ----------------


@dataclass(slots=True)
class Walked(Generic[Found]):
    """What one walk of a base chain met: its notes, the possible finds, the targets it could
    not follow, how it ended, and the doubts on the way (as a find past them lists them)."""

    notes: list[str]
    maybe: list[Found]
    unresolved: list[str]
    end: Found | Stop | None  # a find, "stop", or None: the end of the chain (its policy)
    uncertain: tuple[str, ...]  # the doubts met on the whole way, as a find's evidence
    more: int = 0  # possible finds past MAX_POSSIBLE_SHOWN, counted, not listed


@dataclass(frozen=True, slots=True)
class _Proto:
    """A find before it is made with a packet: where, the jump path, what it depends on."""

    site: _Site
    path: Path
    uncertain: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Replayed:
    """A base chain's walk for every packet with the same fields read: a Walked, finds unmade."""

    notes: tuple[str, ...]
    maybe: tuple[_Proto, ...]
    more: int
    unresolved: tuple[str, ...]
    end: _Proto | Stop | None
    uncertain: tuple[str, ...]


def _shown_path(path: list[str], below: _Below | None, depth: int, last: str) -> Path:
    """The jump path: ``path`` then the chains ``below``, eliding the middle of a deep one."""
    whole = len(path) + depth
    if whole <= MAX_PATH_SHOWN:
        names = list(path)
        while below is not None:
            names.append(below.name)
            below = below.rest
        return tuple(names)
    head = list(islice(path, MAX_PATH_SHOWN - 2))
    while below is not None and len(head) < MAX_PATH_SHOWN - 2:
        head.append(below.name)
        below = below.rest
    return (*head, f"… {whole - len(head) - 1} more chains", last)


@dataclass(slots=True)
class _Replay(Generic[Found]):
    walker: _Walker[Found]
    doubts: dict[str, None] = field(default_factory=dict)  # ordered: the first seen first
    notes: dict[str, None] = field(default_factory=dict)  # each once, in order
    maybe: list[_Proto] = field(default_factory=list)
    more: int = 0
    unresolved: list[str] = field(default_factory=list)

    def uncertain(self, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
        """What a find made now depends on: the doubts so far, and its own."""
        shown = list(islice(self.doubts, MAX_DOUBTS_SHOWN))
        hidden = len(self.doubts) - len(shown)
        if hidden:
            shown.append(f"… and {hidden} more rules or targets we could not evaluate")
        return (*shown, *(e for e in extra if e not in shown))

    def make(self, site: _Site, path: Path) -> _Proto:
        return _Proto(site, path, self.uncertain(site.extra))

    def found(self, found: _Found, path: list[str]) -> _Proto:
        last = found.site.chain.name
        return self.make(found.site, _shown_path(path, found.below, found.depth, last))

    def run(self, base: _Summary) -> _Replayed:
        walker = self.walker
        if walker.table.incomplete:
            self.doubts[walker.table.incomplete] = None
        seen = {id(base)}
        path = [base.name]
        stack: list[Iterator[_Event]] = [iter(base.events)]
        while stack:
            for event in stack[-1]:
                walker.tick()
                kind = event[0]
                if kind == _SUB:
                    sub: _Summary = event[1]  # type: ignore[assignment]
                    if id(sub) in seen:
                        continue  # reached before by another way: nothing new to report
                    seen.add(id(sub))
                    path.append(event[2])  # type: ignore[misc]
                    stack.append(iter(sub.events))
                    break
                self._event(kind, event[1], path)
            else:
                stack.pop()
                path.pop()
        end = base.end
        last = self.found(end, [base.name]) if isinstance(end, _Found) else end
        return _Replayed(
            tuple(self.notes), tuple(self.maybe), self.more, tuple(self.unresolved), last,
            self.uncertain(),
        )  # fmt: skip

    def _event(self, kind: int, what: object, path: list[str]) -> None:
        if kind == _NOTE:
            self.notes[what] = None  # type: ignore[index]
        elif kind == _DOUBT:
            self.doubts[what] = None  # type: ignore[index]
        elif kind == _UNRESOLVED:
            self.notes[what] = None  # type: ignore[index]
            self.doubts[what] = None  # type: ignore[index]
            self.unresolved.append(what)  # type: ignore[arg-type]
        elif len(self.maybe) >= MAX_POSSIBLE_SHOWN:
            self.more += kind in (_MAYBE, _MAYBE_END)
        elif kind == _MAYBE:
            self.maybe.append(self.make(what, _shown_path(path, None, 0, path[-1])))  # type: ignore[arg-type]
        elif kind == _MAYBE_END:
            self.maybe.append(self.found(what, path))  # type: ignore[arg-type]


def via(path: Path) -> str:
    """`` (via FORWARD → DOCKER-USER)`` for a find past a jump, for its evidence line."""
    return f" (via {' → '.join(path)})" if len(path) > 1 else ""


def unproven(uncertain: tuple[str, ...]) -> str:
    """What a find depends on, for the end of its evidence line; nothing when it is proven."""
    return f"; not proven, it depends on: {'; '.join(uncertain)}" if uncertain else ""


_READS = "reads"  # Table.memo's key of the fields each chain reads
_NOTES = "notes"  # and of the notes' texts


@dataclass(slots=True)
class TableWalks(Generic[Found]):
    """The walks of one table for a search: one memo per class of packets a base chain treats
    alike (the same values of the fields it reads), kept in ``Table.memo``."""

    table: Table
    search: Search[Found]
    deadline: Deadline

    def _reads(self) -> dict[str, int]:
        memo = self.table.memo
        reads = memo.get(_READS)
        if reads is None:
            ticker = _Walker(self.table, None, self.search, self.deadline)  # type: ignore[arg-type]
            reads = memo[_READS] = chain_reads(self.table, ticker.tick)
        return reads  # type: ignore[return-value]

    def walk(self, chain: Chain, packet: Packet) -> Walked[Found]:
        """Walk one base chain with one packet."""
        self.deadline.check(f"{self.table.source} {self.table.label}")
        memo = self.table.memo
        mask = self._reads().get(chain.name, ALL)
        alike = (self.search, mask, projection(mask, packet))
        replayed = memo.get((*alike, chain.name))
        if replayed is None:
            walker = memo.get(alike)
            if walker is None:
                notes = memo.setdefault(_NOTES, {})
                walker = _Walker(self.table, packet, self.search, self.deadline, notes=notes)  # type: ignore[arg-type]
                memo[alike] = walker
            assert isinstance(walker, _Walker)
            walker.deadline = self.deadline  # the memo may be an earlier judgement's
            replayed = _Replay(walker).run(walker.summary(chain.name))
            memo[(*alike, chain.name)] = replayed
        assert isinstance(replayed, _Replayed)
        return self._made(replayed, packet)

    def _made(self, replayed: _Replayed, packet: Packet) -> Walked[Found]:
        """The walk's finds, made with ``packet``."""
        table, make = self.table, self.search.make

        def found(proto: _Proto) -> Found:
            site = proto.site
            spot = Spot(
                table, packet, site.chain, site.rule, site.action, proto.path, proto.uncertain
            )
            return make(spot)

        end = replayed.end
        return Walked(
            list(replayed.notes),
            [found(p) for p in replayed.maybe],
            list(replayed.unresolved),
            found(end) if isinstance(end, _Proto) else end,
            replayed.uncertain,
            replayed.more,
        )
