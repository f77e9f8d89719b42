"""A Target: where checks look. One code path for a real host and for the lab."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from probes.docker import default_docker_host
from probes.errors import HarnessError
from probes.netns import Netns
from probes.profile import Profile, load_profile


@dataclass(frozen=True, slots=True)
class Target:
    label: str  # the JUnit `target` property, e.g. "local:web-1" or "lab:v6c/healthy"
    netns: Netns  # the host's network namespace
    docker_host: str
    profile: Profile
    uplink: str | None = None  # the host's upstream interface, where known
    resolv_conf: str = "/etc/resolv.conf"  # the host's resolver configuration, as Docker reads it
    lab: dict[str, Any] | None = field(default=None, compare=False)  # `python -m lab describe`
    # the root whose firewall tools wrote the host's rules, where that is not this machine's
    # own (the lab's dockerd runs chrooted into a Debian root): its nft reads them
    tool_root: str | None = None

    @classmethod
    def local(
        cls,
        *,
        docker_host: str | None = None,
        profile: Profile | None = None,
        uplink: str | None = None,
    ) -> Target:
        """This host: our own network namespace and its Docker daemon.

        A named uplink must exist here: a typo would otherwise surface as a traceback in every
        check that watches the uplink, and a check that reads nothing there must not pass.
        """
        if uplink is not None:
            try:
                socket.if_nametoindex(uplink)
            except OSError:
                names = ", ".join(sorted(n for _, n in socket.if_nameindex())) or "none"
                raise HarnessError(
                    f"--uplink {uplink}: no such interface on this host (interfaces: {names}); "
                    "name the interface of the IPv6 default route, or leave --uplink out to "
                    "use it"
                ) from None
        return cls(
            f"local:{socket.gethostname()}",
            Netns(),
            docker_host or default_docker_host(),
            profile or Profile(),
            uplink,
        )

    @classmethod
    def from_lab(cls, description: dict[str, Any], profile: Profile | None = None) -> Target:
        """A running lab, as `python -m lab describe` tells it: its host namespace is the host."""
        host_ns = description["namespaces"]["host"]
        return cls(
            f"lab:{description['name']}/{description['scenario']}",
            Netns.named(host_ns),
            description["docker_host"],
            profile or load_profile(description["profile"]),
            description["host"]["uplink"],
            description["host"]["resolv_conf"],
            description,
            description.get("docker", {}).get("root"),
        )


def privileged() -> bool:
    """Raw sockets and entering namespaces need root (CAP_NET_RAW, CAP_SYS_ADMIN)."""
    return os.geteuid() == 0
