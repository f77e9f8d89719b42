"""The machine-readable result, ``results.json``: every item (check, where, outcome, diagnosis,
evidence, fix, facts, timing), the run's properties, and the causes with the symptoms each
explains and the facts that tied them.

Stable keys, plain JSON types; a consumer can rebuild the HTML's causes from it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reports.causes import Cause
from reports.results import CheckInfo, CheckResult

FORMAT = 1  # bump when a key changes meaning


def _item(r: CheckResult, catalog: dict[str, CheckInfo]) -> dict[str, Any]:
    return {
        "nodeid": r.nodeid,
        "rerun": r.rerun,
        "check": r.check,
        "title": r.title(catalog),
        "where": r.place.column,
        "detail": r.place.detail,
        "outcome": r.outcome,
        "duration_s": round(r.duration, 4),
        "message": r.message if r.outcome in ("skipped", "error") else "",
        "diagnoses": [
            {
                "summary": d.diagnosis,
                "evidence": list(d.evidence),
                "fix": d.fix,
                "fix_commands": list(d.remedy.commands) if d.remedy else [],
                "fix_where": d.remedy.where if d.remedy else None,
                "fix_values": d.remedy.value_map() if d.remedy else {},
                "hop": d.hop,
                "breaks": list(d.breaks),
                "needs": list(d.needs),
            }
            for d in r.diagnoses
        ],
        "proof": r.proof,
        "warnings": list(r.warnings),
    }


def document(
    results: Sequence[CheckResult],
    catalog: dict[str, CheckInfo],
    properties: dict[str, str],
    causes: Sequence[Cause],
    *,
    exitstatus: int,
    harness_failures: Sequence[str],
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "properties": dict(properties),
        "exit_status": exitstatus,
        "harness_failures": list(harness_failures),
        "items": [_item(r, catalog) for r in results],
        "causes": [
            {
                "check": c.primary.check,
                "nodeid": c.primary.nodeid,
                "rerun": c.primary.rerun,
                "line": c.line(catalog),
                "members": [m.nodeid for m in c.members],
                "hop": c.hop,
                # what heals it: in words, the commands in order (each a string a shell there
                # runs), and who runs them ("host": this host's root; else who must act)
                "fix": c.remedy.text if c.remedy else None,
                "fix_commands": list(c.remedy.commands) if c.remedy else [],
                "fix_where": c.remedy.where if c.remedy else None,
                # what another party needs to act on it (the address its DNS server must
                # listen on…), by name (rules.judgement.FIX_VALUES): the text names them too
                "fix_values": c.remedy.value_map() if c.remedy else {},
                "symptoms": [
                    {
                        "nodeid": s.result.nodeid,
                        "check": s.result.check,
                        "tied_by": [
                            {"cause": t.cause.nodeid, "facts": list(t.facts)} for t in s.ties
                        ],
                        "explanation": s.explanation(catalog),
                        # a symptom is healed by its cause's fix, and breaks where it does
                        "hop": c.hop,
                    }
                    for s in c.symptoms
                ],
            }
            for c in causes
        ],
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(
        json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
        errors="backslashreplace",
    )
