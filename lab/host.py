"""The Docker host's last settings, once its dockerd has made its own: the route that carries
the path's MTU where the host needs it, then each fault's changes (sysctls, firewall rules, ND
proxy entries; on the upstream too, where a fault is the router's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab import topology as T
from lab.site import HostChanges, Site

if TYPE_CHECKING:
    from lab.lab import Lab


def finish(lab: Lab, site: Site, changes: HostChanges) -> None:
    if site.host.path_mtu is not None and changes.docker_writes_ip6tables:
        # "lock": a forwarding host holds packets to a route's MTU only when it is locked
        lab.in_ns(
            "host", "ip", "-6", "route", "add", T.FAR_END_ROUTE, "via", T.UPSTREAM_ON_UPLINK6,
            "dev", T.UPLINK, "mtu", "lock", str(site.host.path_mtu),
        )  # fmt: skip
    for role, argv in changes.commands:
        lab.in_ns(role, *argv)
