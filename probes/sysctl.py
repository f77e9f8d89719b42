"""Per-namespace IPv6 sysctls that decide whether a Docker host routes for its containers."""

from __future__ import annotations

from dataclasses import dataclass

from probes.errors import NetnsError
from probes.netns import Netns


@dataclass(frozen=True, slots=True)
class ForwardingState:
    forwarding: str | None  # net.ipv6.conf.all.forwarding
    uplink: str | None
    uplink_accept_ra: str | None  # net.ipv6.conf.UPLINK.accept_ra
    uplink_forwarding: str | None

    def lines(self) -> tuple[str, ...]:
        out = [f"net.ipv6.conf.all.forwarding = {self.forwarding}"]
        if self.uplink:
            out.append(f"net.ipv6.conf.{self.uplink}.forwarding = {self.uplink_forwarding}")
            out.append(f"net.ipv6.conf.{self.uplink}.accept_ra = {self.uplink_accept_ra}")
        return tuple(out)


def accept_ra_trap(state: ForwardingState, default_protocols: list[str]) -> str | None:
    """Why the uplink ignores RAs it depends on, or None (RFC 4861 6.2.1 hosts vs routers).

    The kernel's own rule (``ipv6_accept_ra`` in net/ipv6/ndisc.c) is per interface: where
    the uplink's own ``forwarding`` is on, it takes RAs only with accept_ra 2; at 1 an
    RA-learned default route is not refreshed and expires, and none is learned in the first
    place. At accept_ra 0 the kernel takes no RAs whatever forwarding says: the site told it
    so, and a default route learnt from RAs there was installed by a daemon that takes them in
    user space (systemd-networkd, as Ubuntu's netplan runs it; NetworkManager), which
    forwarding does not stop. ``default_protocols``: the protocols ("ra", "static", "boot"…)
    of the uplink's default routes.
    """
    forwarding = state.uplink_forwarding or state.forwarding
    if forwarding != "1" or state.uplink_accept_ra != "1":
        return None
    from_ra = "ra" in default_protocols
    static = any(p != "ra" for p in default_protocols)
    if static and not from_ra:
        return None  # a configured default route: RAs are not needed
    consequence = (
        "the RA-learned default route will expire and not come back"
        if from_ra
        else "the host has no IPv6 default route"
    )
    return (
        f"accept_ra = {state.uplink_accept_ra} on {state.uplink} with forwarding on there: the "
        f"kernel ignores Router Advertisements on it, so {consequence}"
    )


def _read(key: str) -> str | None:
    try:
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


async def forwarding_state(netns: Netns, uplink: str | None) -> ForwardingState:
    """Read the forwarding and accept_ra sysctls as ``netns`` sees them (they are per namespace).

    /proc/sys/net follows the reading thread's network namespace, so the reads run inside it.
    """

    def read() -> ForwardingState:
        if uplink:
            acc = _read(f"net.ipv6.conf.{uplink}.accept_ra")
            fwd = _read(f"net.ipv6.conf.{uplink}.forwarding")
        else:
            acc = fwd = None
        return ForwardingState(_read("net.ipv6.conf.all.forwarding"), uplink, acc, fwd)

    try:
        return await netns.run(read)
    except OSError as exc:
        raise NetnsError(str(netns), f"cannot read sysctls: {exc}") from exc
