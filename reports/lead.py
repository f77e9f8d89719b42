"""What a report leads with: each cause in a line (what, where), its fix in a line with the
commands below it, and what it explains counted by check, never item by item.

The HTML's first screen and the terminal's last lines both read this, so they say the same.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from reports.causes import Cause
from reports.results import CheckInfo, CheckResult
from rules.judgement import HOP_WORDS


@dataclass(frozen=True, slots=True)
class CauseLead:
    """One cause as a report leads with it."""

    check: str
    places: tuple[str, ...]  # where its members ran (matrix columns), in run order
    what: str  # the first member's diagnosis
    hop: str | None  # where on the path it breaks ("host", "upstream"…; "unknown")
    fix_line: str | None  # the fix's first clause: one line
    fix_text: str | None  # the fix in full
    fix_commands: tuple[str, ...]  # what to paste, in order
    fix_where: str | None  # who acts: "host", the upstream router, a DNS server…
    explains: tuple[tuple[str, int], ...]  # (check, items) of its symptoms, in run order

    @property
    def where(self) -> str:
        return HOP_WORDS.get(self.hop or "unknown", self.hop or "")

    @property
    def short_where(self) -> str:
        """The hop's name for a one-line headline ("host", "far end", "not known")."""
        return "not known" if self.hop in (None, "unknown") else str(self.hop)

    @property
    def explained(self) -> int:
        return sum(n for _, n in self.explains)

    def explains_line(self) -> str:
        """ "explains 15 failures: DNS-03, EP-03 ×6, RC-01 ×2" (empty when none)."""
        if not self.explains:
            return ""
        counted = ", ".join(f"{c} ×{n}" if n > 1 else c for c, n in self.explains)
        s = "s" if self.explained > 1 else ""
        return f"explains {self.explained} other failure{s}: {counted}"


_CLAUSE = re.compile(r"(?<=[^\s])(?:; |\. (?=[A-Z(])|: (?=`))")


def first_clause(text: str) -> str:
    """The first clause of a fix in words: up to its first "; ", ". " or ": `command`"."""
    head = _CLAUSE.split(text, maxsplit=1)[0].strip()
    return head or text


def lead(cause: Cause, catalog: dict[str, CheckInfo], hop: str | None) -> CauseLead:
    primary = cause.primary
    judgement = primary.diagnoses[-1] if primary.diagnoses else None
    # the cause's fix: its commands for every network it covers, and who runs them
    remedy = cause.remedy
    commands = remedy.commands if remedy is not None else ()
    fix_where = remedy.where if remedy is not None else None
    counts = Counter(s.result.check or s.result.name for s in cause.symptoms)
    return CauseLead(
        check=primary.check or primary.name,
        places=tuple(dict.fromkeys(m.place.column for m in cause.members)),
        what=judgement.diagnosis if judgement is not None else primary.brief or primary.message,
        hop=hop,
        fix_line=first_clause(remedy.text) if remedy is not None else None,
        fix_text=remedy.text if remedy is not None else None,
        fix_commands=commands,
        fix_where=str(fix_where) if fix_where else None,
        explains=tuple(counts.items()),
    )


def terminal_lines(leads: Sequence[CauseLead]) -> list[str]:
    """The terminal's last words: each cause, where it breaks, what it explains, the fix and
    its commands, each said once."""
    lines: list[str] = []
    for i, c in enumerate(leads, 1):
        places = f" [{', '.join(c.places)}]" if c.places else ""
        lines.append(f"{i}. {c.check}{places}: {c.what}")
        lines.append(f"   where: {c.where}")
        if c.explains:
            lines.append(f"   {c.explains_line()}")
        if c.fix_text is not None:
            by = f" (by {c.fix_where})" if c.fix_where and c.fix_where != "host" else ""
            lines.append(f"   fix{by}: {c.fix_text if not c.fix_commands else c.fix_line}")
            lines += [f"     {command}" for command in c.fix_commands]
    return lines


def distinct_titles(
    results: Sequence[CheckResult], catalog: dict[str, CheckInfo]
) -> dict[str, str]:
    """Each item's title, with its pytest parameters added where two items share a title (the
    three endpoints EP-03 checks from one container): a list never shows one line twice."""
    titles = {r.nodeid: r.title(catalog) for r in results}
    seen = Counter(titles.values())
    for r in results:
        if seen[titles[r.nodeid]] > 1 and "[" in r.nodeid:
            titles[r.nodeid] += f" ({r.nodeid[r.nodeid.index('[') + 1 : -1]})"
    return titles
