"""The upstream router: radvd's Router Advertisements on the host's link (its routes are part
of the lab's wiring, lab.links)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab import topology as T
from lab.shell import say
from lab.site import Router, SecondRouter

if TYPE_CHECKING:
    from lab.lab import Lab


def radvd_conf(
    router: Router, interface: str = T.UPLINK_PEER, second: SecondRouter | None = None
) -> str:
    """The upstream's radvd.conf; with ``second``, the second router's on ``interface``: a
    default route at its preference, no prefix (it is the upstream's segment), the same
    RDNSS and DNSSL."""
    lifetime = 3 * T.RA_MAX_INTERVAL  # RFC 8106
    body = [
        f"interface {interface} {{",
        "  AdvSendAdvert on;",
        "  MinRtrAdvInterval 30;",
        f"  MaxRtrAdvInterval {T.RA_MAX_INTERVAL};",
        "  AdvDefaultLifetime 1800;",
    ]
    if second is None:
        body.append(f"  prefix {T.UPLINK_PREFIX} {{ AdvOnLink on; AdvAutonomous on; }};")
    else:
        body.append(f"  AdvDefaultPreference {second.preference};")
        if not second.source_lladdr:
            body.append("  AdvSourceLLAddress off;")
    if router.rdnss:
        body.append(f"  RDNSS {' '.join(router.rdnss)} {{ AdvRDNSSLifetime {lifetime}; }};")
    if router.dnssl:
        body.append(f"  DNSSL {' '.join(router.dnssl)} {{ AdvDNSSLLifetime {lifetime}; }};")
    body.append("};")
    return "\n".join(body) + "\n"


def start(lab: Lab, router: Router) -> None:
    say("starting radvd in the upstream namespace")
    conf = lab.state / "radvd.conf"
    conf.write_text(radvd_conf(router))
    conf.chmod(0o644)
    pidfile = lab.state / "radvd.pid"
    lab.spawn(
        "radvd",
        ["ip", "netns", "exec", lab.ns("upstream"),
         "radvd", "--nodaemon", "-C", str(conf), "-p", str(pidfile), "-m", "stderr"],
    )  # fmt: skip
    # the host learns its IPv6 default route from radvd's first advertisement
    lab.wait_for(
        lambda: "default" in lab.in_ns("host", "ip", "-6", "route", "show", "default", check=False),
        "the host to learn its default route from radvd",
    )


def start_second(lab: Lab, router: Router, second: SecondRouter) -> None:
    """The second router's radvd, in its own namespace; waits until the host has its default
    route too (two default routes on the uplink)."""
    say("starting the second router's radvd in its namespace")
    conf = lab.state / "radvd-r2.conf"
    conf.write_text(radvd_conf(router, T.ROUTER2_LAN, second))
    conf.chmod(0o644)
    pidfile = lab.state / "radvd-r2.pid"
    lab.spawn(
        "radvd-r2",
        ["ip", "netns", "exec", lab.ns("router2"),
         "radvd", "--nodaemon", "-C", str(conf), "-p", str(pidfile), "-m", "stderr"],
    )  # fmt: skip
    lab.wait_for(
        lambda: (
            lab.in_ns("host", "ip", "-6", "route", "show", "default", check=False).count(" via ")
            >= 2
        ),
        "the host to learn a default route from the second router too",
    )
