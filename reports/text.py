"""Text from outside made safe where it is written.

Diagnoses, evidence, skip reasons and properties carry what hosts, containers and peers sent: an
HTTP status line, a resolv.conf line, a host name. Any of it may hold control characters (an
escape sequence for the operator's terminal, a NUL), characters XML 1.0 forbids (junit.xml would
not be well-formed, and CI parsers reject it) or a lone surrogate (a name with a byte that is not
UTF-8, which no UTF-8 file can hold). :func:`visible` shows each such character as a visible
escape (``\\x1b``, ``\\udcff``), so every report keeps it as text and none of them breaks; a run's
verdict and exit never depend on it.
"""

from __future__ import annotations

import re

# C0 and C1 controls (tab and newline kept where text has lines), DEL, lone surrogates, and the
# two noncharacters XML 1.0 excludes
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every unsafe character shown as an escape; tabs and newlines kept."""
    return _UNSAFE.sub(_escape, text)


def visible_line(text: str) -> str:
    """``text`` as one safe line: newlines and tabs escaped too (a property, an attribute)."""
    return _UNSAFE_LINE.sub(_escape, text)
