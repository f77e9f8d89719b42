"""The far end's services beside its DNS server: the published web sites and, where the site has
one, a real NAT64, both in the inet namespace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab import topology as T
from lab.shell import say
from lab.site import FarEnd

if TYPE_CHECKING:
    from lab.lab import Lab


def start_web(lab: Lab, far_end: FarEnd) -> None:
    """The published services' web server: busybox httpd (a real one, from busybox-static),
    one process on each of the far end's web addresses (busybox listens with a backlog of 9:
    one socket for every address would drop SYNs when the checks connect all at once);
    none on a stale address (which no one has)."""
    say("starting the web server (busybox httpd) in the inet namespace")
    root = lab.state / "www"
    root.mkdir()
    (root / "index.html").write_text("v6conform lab\n")
    httpd = ["ip", "netns", "exec", lab.ns("inet"), "busybox", "httpd", "-f", "-h", str(root)]
    for i, address in enumerate(T.WEB_ADDRESSES):
        if address in far_end.stale:
            continue
        where = f"[{address}]:80" if ":" in address else f"{address}:80"
        lab.spawn(f"httpd-{i}", [*httpd, "-p", where])


def start_nat64(lab: Lab, prefix: str = T.NAT64_PREFIX) -> None:
    """A real NAT64 beside the DNS64 resolver: tayga in the inet namespace translates the
    NAT64 prefix (``prefix``) to IPv4 from its own pool (TEST-NET-1), which routes back to it."""
    say("starting tayga (NAT64) in the inet namespace")
    data = lab.state / "tayga"
    data.mkdir()
    conf = lab.state / "tayga.conf"
    conf.write_text(
        f"tun-device {T.NAT64_DEVICE}\n"
        f"ipv4-addr {T.NAT64_ADDR4}\n"
        f"prefix {prefix}\n"
        f"dynamic-pool {T.NAT64_POOL4}\n"
        f"data-dir {data}\n"
    )
    # the far end forwards now: between its link and the translator's tun device
    lab.sysctl("inet", "net.ipv6.conf.all.forwarding", 1)
    lab.sysctl("inet", "net.ipv4.ip_forward", 1)
    lab.in_ns("inet", "tayga", "-c", str(conf), "--mktun")
    lab.in_ns("inet", "ip", "link", "set", T.NAT64_DEVICE, "up")
    lab.in_ns("inet", "ip", "-6", "route", "add", prefix, "dev", T.NAT64_DEVICE)
    lab.in_ns("inet", "ip", "route", "add", T.NAT64_POOL4, "dev", T.NAT64_DEVICE)
    # -d: in the foreground (the lab holds it as it holds the other daemons), logging
    lab.spawn("tayga", ["ip", "netns", "exec", lab.ns("inet"), "tayga", "-d", "-c", str(conf)])
