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
