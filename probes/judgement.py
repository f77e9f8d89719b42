"""What a judgement rule returns: pass, fail or not observed, with the reason and the evidence.

A rule (``probes.gateway``, ``probes.dns_rules``, ``probes.resolv_rules``,
``probes.routing_rules``) is a plain function over frozen probe results and the profile values
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

    @property
    def ok(self) -> bool:
        return self.outcome == "pass"


def passed(diagnosis: str, evidence: Iterable[str] = ()) -> Judgement:
    return Judgement("pass", diagnosis, tuple(evidence))


def failed(
    diagnosis: str, evidence: Iterable[str] = (), *, fix: str | None, hop: str | None = None
) -> Judgement:
    return Judgement("fail", diagnosis, tuple(evidence), fix, hop)


def not_observed(diagnosis: str, evidence: Iterable[str] = ()) -> Judgement:
    return Judgement("not-observed", diagnosis, tuple(evidence))


def first_of(problems: Sequence[str]) -> str:
    """The first problem, and how many more there are: a diagnosis stays one line.

    The same words as ``reports.diagnosis.first_of``, which probes may not import."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"
