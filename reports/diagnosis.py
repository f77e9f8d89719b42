"""A check's verdict carried from the test to the reports: the judgement, kept whole.

A check holds its rule's judgement with the ``hold`` fixture (:class:`Hold`, the reports
plugin's): a pass is recorded with what proved it, a not-observed is skipped with the reason,
and a fail fails the item with ``pytest.fail(explain(...))`` whose message is a
:class:`Verdict`: a ``str`` (for pytest) that carries its :class:`~rules.judgement.Judgement`
(diagnosis, evidence, fix, hop, facts) to the reports. Only such a failure is a verdict on the
host (:func:`verdict_of`): any other exception, a probe's or a parser's own ``assert`` among
them, means the check broke.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest

from reports.text import visible, visible_line
from rules.judgement import Fix, Judgement, as_fix

PROOFS = pytest.StashKey[list[Judgement]]()  # what proved an item's pass, by Hold


class Verdict(str):
    """What :func:`explain` returns: the rendered judgement (a ``str``, for ``pytest.fail``),
    which knows it is a check's verdict and carries its judgement."""

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
    """A failed judgement rendered as a failure's message (``pytest.fail(explain(...))``).

    ``hop`` names where on the path (container, bridge, host, uplink, upstream, far end) the
    check saw it break, when that differs from where the check's failures usually break;
    "unknown" when its evidence cannot tell. ``breaks`` and ``needs``: the facts it found false
    and those its verdict rests on (rules.judgement.FACTS)."""
    fix = as_fix(fix, hop)
    if fix is not None:  # what a peer sent may be in it too (a name, an address's text)
        fix = dataclasses.replace(
            fix,
            text=visible(fix.text),
            commands=tuple(visible(c) for c in fix.commands),
            values=tuple((n, visible(v)) for n, v in fix.values),
        )
    return Verdict(
        Judgement(
            "fail",
            visible_line(" ".join(summary.split())),
            _lines(evidence),
            fix,
            hop,
            tuple(visible_line(b) for b in breaks),
            tuple(visible_line(n) for n in needs),
        )
    )


def _lines(evidence: Iterable[str]) -> tuple[str, ...]:
    """Evidence lines as the reports may show them: what a peer sent, made visible."""
    return tuple(visible_line(line) for line in evidence)


class Hold:
    """Binds a rule's judgement to the running item (the ``hold`` fixture): a pass passes with
    what proved it (the reports carry it), a fail fails with its diagnosis, and what could not
    be observed is skipped with the reason. ``breaks`` and ``needs``: facts of the item the rule
    does not know (its network, its container), added to the rule's own for the root-cause
    step."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item

    def __call__(
        self, judgement: Judgement, *, breaks: Iterable[str] = (), needs: Iterable[str] = ()
    ) -> None:
        if judgement.outcome == "not-observed":
            skip = pytest.skip.Exception(visible(judgement.diagnosis))
            skip._use_item_location = True  # the report names the check, not this line
            raise skip
        if judgement.ok:
            proof = Judgement("pass", visible_line(judgement.diagnosis), _lines(judgement.evidence))
            self.item.stash.setdefault(PROOFS, []).append(proof)
            return
        # pytest.fail without a traceback: the verdict replaces it in every report anyway, and
        # formatting one (pytest parses the test's source for each) costs ~35 ms a failure,
        # seconds when a broken host fails a hundred containers' items
        pytest.fail(
            explain(
                judgement.diagnosis,
                judgement.evidence,
                fix=judgement.remedy,
                hop=judgement.hop,
                breaks=dict.fromkeys((*judgement.breaks, *breaks)),
                needs=dict.fromkeys((*judgement.needs, *needs)),
            ),
            pytrace=False,
        )


def verdict_of(exc: BaseException) -> Judgement | None:
    """The judgement a check's failure carries: ``exc``'s message is a :class:`Verdict`. None
    for any other failure, an ``assert`` inside a probe or a parser among them: that is the
    harness breaking, not a verdict on the host."""
    message = exc.args[0] if exc.args else None
    return message.diagnosis if isinstance(message, Verdict) else None
