"""A check's verdict carried from the test to the reports: the judgement, kept whole.

``suites.plugin.site.hold`` fails an item with ``pytest.fail(explain(...))``: the message is a
:class:`Verdict`, a ``str`` (for pytest) that carries its :class:`~rules.judgement.Judgement`
(diagnosis, evidence, fix, hop, facts) for the reports. Only such a failure is a verdict on the
host (:func:`verdict_of`): an ``AssertionError`` whose message explain() did not build (a
probe's or a parser's own ``assert``) means the check broke.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rules.judgement import Fix, Judgement


class _Sink:
    """Where explain() records: the running test item's list, set by the plugin.

    A plain module-level slot, not a ContextVar: checks run one at a time, and the event loop
    that runs async checks may carry a context captured before the item started.
    """

    diagnoses: list[Judgement] | None = None
    proofs: list[Judgement] | None = None  # what proved a pass


sink = _Sink()


def proved(summary: str, evidence: Iterable[str] = ()) -> None:
    """Record what proved the running check's pass: the reports carry it (JUnit property
    ``proof``), so a pass says what it rests on as a failure does."""
    if sink.proofs is not None:
        sink.proofs.append(Judgement("pass", " ".join(summary.split()), tuple(evidence)))


class Verdict(str):
    """What :func:`explain` returns: the rendered judgement (a ``str``, for ``assert`` and
    ``pytest.fail``), which knows it is a check's verdict and carries its judgement."""

    diagnosis: Judgement

    def __new__(cls, diagnosis: Judgement) -> Verdict:
        made = super().__new__(cls, diagnosis.render())
        made.diagnosis = diagnosis
        return made


def explain(
    summary: str,
    evidence: Iterable[str] = (),
    *,
    fix: str | Fix | None = None,
    hop: str | None = None,
    breaks: Iterable[str] = (),
    needs: Iterable[str] = (),
) -> Verdict:
    """Record a failed judgement for the running check and return it rendered as a message.

    ``hop`` names where on the path (container, bridge, host, uplink, upstream, far end) the
    check saw it break, when that differs from where the check's failures usually break;
    "unknown" when its evidence cannot tell. ``breaks`` and ``needs``: the facts it found false
    and those its verdict rests on (rules.judgement.FACTS)."""
    diagnosis = Judgement(
        "fail",
        " ".join(summary.split()),
        tuple(evidence),
        Fix(fix) if isinstance(fix, str) else fix,
        hop,
        tuple(breaks),
        tuple(needs),
    )
    if sink.diagnoses is not None:
        sink.diagnoses.append(diagnosis)
    return Verdict(diagnosis)


def verdict_of(exc: BaseException, recorded: Sequence[Judgement]) -> Judgement | None:
    """The judgement a check's failure carries: ``exc``'s message is a :class:`Verdict`, or
    begins with the diagnosis of one :func:`explain` recorded while the check ran (pytest's
    assertion rewriting rebuilds the message as a plain ``str``; its first line stays the
    diagnosis). None for any other failure, an ``assert`` inside a probe or a parser among
    them: that is the harness breaking, not a verdict on the host."""
    message = exc.args[0] if exc.args else None
    if isinstance(message, Verdict):
        return message.diagnosis
    first = str(exc).split("\n", 1)[0]
    return next((d for d in reversed(recorded) if d.diagnosis == first), None)
