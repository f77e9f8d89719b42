"""`explain`: a failed check's diagnosis, evidence and fix, kept apart for the reports.

Used as an assertion message (evaluated only when the assertion fails)::

    assert result.answered, explain("gateway fe80::1 did not answer", result.evidence,
                                    fix="check the bridge's addresses (GW-01)")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Diagnosis:
    summary: str  # one sentence: what is wrong
    evidence: tuple[str, ...]  # what was sent and seen, one decoded line each
    fix: str | None  # what usually fixes it
    hop: str | None = None  # where on the path it breaks (reports.results.HOPS), if the check knows

    def render(self) -> str:
        lines = [self.summary]
        if self.evidence:
            lines.append("evidence:")
            lines += [f"  {line}" for line in self.evidence]
        if self.fix:
            lines.append(f"fix: {self.fix}")
        return "\n".join(lines)


class _Sink:
    """Where explain() records: the running test item's list, set by the plugin.

    A plain module-level slot, not a ContextVar: checks run one at a time, and the event loop
    that runs async checks may carry a context captured before the item started.
    """

    diagnoses: list[Diagnosis] | None = None


sink = _Sink()


def explain(
    summary: str, evidence: Iterable[str] = (), *, fix: str | None = None, hop: str | None = None
) -> str:
    """Record a diagnosis for the running check and return it rendered as a message.

    ``hop`` names where on the path (container, bridge, host, uplink, upstream, far end) the
    check saw it break, when that differs from where the check's failures usually break."""
    diagnosis = Diagnosis(" ".join(summary.split()), tuple(evidence), fix, hop)
    if sink.diagnoses is not None:
        sink.diagnoses.append(diagnosis)
    return diagnosis.render()


def first_of(problems: Sequence[str]) -> str:
    """The first problem, and how many more there are: a diagnosis stays one line."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"
