"""A plain, self-contained HTML report: no scripts, no fetches, everything escaped."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.plugin import CheckResult

COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#9a6700", "skipped": "#57606a"}
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1f2328}
h1{font-size:1.5em}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
.outcome{color:#fff;font-weight:600;border-radius:3px;padding:1px 6px}
pre{background:#f6f8fa;padding:8px;white-space:pre-wrap;margin:4px 0}
.verdict{font-size:1.2em;font-weight:700}
"""


def render_html(*, results: list[CheckResult], target: str, started: str, exitstatus: int) -> str:
    counts = Counter(r.outcome for r in results)
    broken = counts["failed"] + counts["error"]
    verdict = ("FAIL" if broken else "PASS") if results else "NO CHECKS RAN"
    colour = COLOURS["failed"] if broken else COLOURS["passed"] if results else COLOURS["skipped"]
    summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "nothing ran"
    rows = []
    for r in results:
        badge = (
            f'<span class="outcome" style="background:{COLOURS.get(r.outcome, "#57606a")}">'
            f"{escape(r.outcome)}</span>"
        )
        detail = ""
        if r.diagnoses:
            d = r.diagnoses[-1]
            detail = f"<strong>{escape(d.summary)}</strong>"
            if d.evidence:
                detail += f"<pre>{escape(chr(10).join(d.evidence))}</pre>"
            if d.fix:
                detail += f"<div>fix: {escape(d.fix)}</div>"
        elif r.message:
            detail = f"<pre>{escape(r.message)}</pre>"
        anchor = escape(r.nodeid, quote=True)
        rows.append(
            f'<tr id="{anchor}"><td>{escape(r.check or "")}</td><td>{escape(r.name)}</td>'
            f"<td>{badge}</td><td>{r.duration:.2f} s</td><td>{detail}</td></tr>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>v6conform report: {escape(target)}</title><style>{STYLE}</style></head>
<body>
<h1>v6conform: {escape(target)}</h1>
<p class="verdict" style="color:{colour}">{verdict}</p>
<p>{escape(summary)}; started {escape(started)}; pytest exit status {exitstatus}</p>
<table><thead><tr><th>check</th><th>item</th><th>outcome</th><th>time</th><th>details</th>
</tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""
