"""`explain`: a failed check's diagnosis, evidence and fix, kept apart for the reports.

Used as an assertion message (evaluated only when the assertion fails)::

    assert result.answered, explain("gateway fe80::1 did not answer", result.evidence,
                                    fix="check the bridge's addresses (GW-01)")

Only such a failure is a verdict on the host (:func:`verdict_of`): an ``AssertionError`` whose
message explain() did not build (a probe's or a parser's own ``assert``) means the check broke.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
class Diagnosis:
    summary: str  # one sentence: what is wrong
    evidence: tuple[str, ...]  # what was sent and seen, one decoded line each
    fix: str | None  # what usually fixes it
    hop: str | None = None  # where on the path it breaks (reports.results.HOPS), if the check knows
    # the facts it found false and those it rests on (rules.judgement.FACTS): reports.causes
    # ties a symptom to its cause by them
    breaks: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [self.summary]
        if self.hop:  # a CI log shows this text alone: it must say where, as the picture does
            lines.append(f"where it breaks: {HOP_WORDS.get(self.hop, self.hop)}")
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
    proofs: list[Diagnosis] | None = None  # what proved a pass


sink = _Sink()


def proved(summary: str, evidence: Iterable[str] = ()) -> None:
    """Record what proved the running check's pass: the reports carry it (JUnit property
    ``proof``), so a pass says what it rests on as a failure does."""
    if sink.proofs is not None:
        sink.proofs.append(Diagnosis(" ".join(summary.split()), tuple(evidence), None))


class Verdict(str):
    """What :func:`explain` returns: the rendered diagnosis (a ``str``, for ``assert`` and
    ``pytest.fail``), which knows it is a check's verdict and carries its diagnosis."""

    diagnosis: Diagnosis

    def __new__(cls, diagnosis: Diagnosis) -> Verdict:
        made = super().__new__(cls, diagnosis.render())
        made.diagnosis = diagnosis
        return made


def explain(
    summary: str,
    evidence: Iterable[str] = (),
    *,
    fix: str | None = None,
    hop: str | None = None,
    breaks: Iterable[str] = (),
    needs: Iterable[str] = (),
) -> Verdict:
    """Record a diagnosis for the running check and return it rendered as a message.

    ``hop`` names where on the path (container, bridge, host, uplink, upstream, far end) the
    check saw it break, when that differs from where the check's failures usually break;
    "unknown" when its evidence cannot tell. ``breaks`` and ``needs``: the facts it found false
    and those its verdict rests on (rules.judgement.FACTS)."""
    diagnosis = Diagnosis(
        " ".join(summary.split()), tuple(evidence), fix, hop, tuple(breaks), tuple(needs)
    )
    if sink.diagnoses is not None:
        sink.diagnoses.append(diagnosis)
    return Verdict(diagnosis)


def verdict_of(exc: BaseException, recorded: Sequence[Diagnosis]) -> Diagnosis | None:
    """The diagnosis a check's failure carries: ``exc``'s message is a :class:`Verdict`, or
    begins with the summary of a diagnosis :func:`explain` recorded while the check ran (pytest's
    assertion rewriting rebuilds the message as a plain ``str``; its first line stays the
    summary). None for any other failure, an ``assert`` inside a probe or a parser among them:
    that is the harness breaking, not a verdict on the host."""
    message = exc.args[0] if exc.args else None
    if isinstance(message, Verdict):
        return message.diagnosis
    first = str(exc).split("\n", 1)[0]
    return next((d for d in reversed(recorded) if d.summary == first), None)


def first_of(problems: Sequence[str]) -> str:
    """The first problem, and how many more there are: a diagnosis stays one line."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"
