"""One exception root for everything the harness itself gets wrong or cannot do."""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness raises (not a failed check: a check that could not run)."""


class NetnsError(HarnessError):
    """A network namespace could not be entered or read."""

    def __init__(self, netns: str, reason: str) -> None:
        super().__init__(f"network namespace {netns}: {reason}")
        self.netns = netns
        self.reason = reason


class DockerUnavailable(HarnessError):
    """The Docker daemon could not be reached or refused a request."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"Docker at {endpoint}: {reason}")
        self.endpoint = endpoint
        self.reason = reason


class ProfileError(HarnessError):
    """A target profile is malformed."""


class MalformedPacket(HarnessError):
    """A packet could not be decoded; carries the reason and the raw bytes."""

    def __init__(self, reason: str, data: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


class ProbeError(HarnessError):
    """A probe could not look: its tool failed (nsenter, the in-container script) or printed
    what it never prints. Not a finding about the host: checks report it as a harness error."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def leaves(exc: BaseException) -> list[BaseException]:
    """``exc`` itself, or every exception inside an exception group (what an
    ``asyncio.TaskGroup`` raises), nested groups opened."""
    if not isinstance(exc, BaseExceptionGroup):
        return [exc]
    return [leaf for sub in exc.exceptions for leaf in leaves(sub)]


def harness_errors(exc: BaseException) -> list[HarnessError] | None:
    """The harness errors ``exc`` is made of: itself, or every leaf of an exception group; None
    when any part of it is something else (a bug, a cancellation, a verdict), which must not be
    passed off as a harness error."""
    found = leaves(exc)
    if all(isinstance(e, HarnessError) for e in found):
        return [e for e in found if isinstance(e, HarnessError)]
    return None


def one_line(exc: BaseException) -> str:
    """What went wrong, as one line: the reason of each exception in ``exc`` (a task group may
    hold several), each once, in order."""
    reasons = (" ".join(str(e).split()) or type(e).__name__ for e in leaves(exc))
    return "; ".join(dict.fromkeys(reasons))
