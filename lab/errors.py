"""The lab's one exception, in a module of its own so that every lab module can raise it."""

from __future__ import annotations


class LabError(Exception):
    """The lab could not be brought up or down; the message says what and what to do."""
