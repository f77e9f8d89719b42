"""The upstream router: radvd's Router Advertisements on the host's link (its routes are part
of the lab's wiring, lab.links)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab import topology as T
from lab.shell import say
from lab.site import Router

if TYPE_CHECKING:
    from lab.lab import Lab


def radvd_conf(router: Router) -> str:
    lifetime = 3 * T.RA_MAX_INTERVAL  # RFC 8106
    body = [
        f"interface {T.UPLINK_PEER} {{",
        "  AdvSendAdvert on;",
        "  MinRtrAdvInterval 30;",
        f"  MaxRtrAdvInterval {T.RA_MAX_INTERVAL};",
        "  AdvDefaultLifetime 1800;",
        f"  prefix {T.UPLINK_PREFIX} {{ AdvOnLink on; AdvAutonomous on; }};",
    ]
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
