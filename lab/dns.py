"""The far end's DNS server: unbound in the inet namespace, serving the lab's zone (and DNS64
where the site has it), and the wait until it answers the host."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from lab import topology as T
from lab.shell import run, say
from lab.site import DnsServer

if TYPE_CHECKING:
    from lab.lab import Lab


def unbound_conf(state: Path, dns: DnsServer) -> tuple[str, dict[str, str]]:
    """unbound.conf for ``dns``, and the zone files it names (file name -> text)."""
    lines = [
        "server:",
        f'  directory: "{state}"',
        f'  pidfile: "{state / "unbound.pid"}"',
        '  username: ""',
        '  chroot: ""',
        "  use-syslog: no",
        "  do-daemonize: no",
        "  verbosity: 1",
        "  do-ip6: yes",
        "  interface-automatic: no",
        *(f"  interface: {address}" for address in dns.listen),
        "  access-control: 0.0.0.0/0 allow",
        "  access-control: ::/0 allow",
        f'  module-config: "{"dns64 iterator" if dns.dns64_prefix else "iterator"}"',
        # nothing outside the zone: answer at once rather than try the real root servers
        '  local-zone: "." refuse',
        # the lab's zone and RFC 7050's name, served as upstream zones (auth-zone below):
        # DNS64 synthesizes only from what the iterator brings, never from local data
        f'  local-zone: "{T.ZONE}." transparent',
        '  local-zone: "ipv4only.arpa." transparent',
    ]
    if dns.dns64_prefix:
        lines.append(f"  dns64-prefix: {dns.dns64_prefix}")
    zones = {
        "ipv4only.arpa": "".join(f"@ 3600 IN A {a}\n" for a in T.IPV4ONLY_ARPA),
        T.ZONE: "".join(f"{name}. 300 IN {rtype} {data}\n" for name, rtype, data in dns.records),
        # a root of the lab's own, an upstream zone too: once a zone's address records have
        # expired from the cache while its cached NS has not (3600 s against 300 s), the
        # iterator drops that delegation and goes to the root, whose priming can only fail
        # here (no network): every name of the zone answered SERVFAIL ("failed to get a
        # delegation") from five minutes into a lab's life. This root always leads back.
        "": f"ns.root.invalid. 3600 IN AAAA {T.DNS6}\nns.root.invalid. 3600 IN A {T.DNS4}\n",
    }
    files = {}
    for zone, body in zones.items():
        zonefile = state / f"{zone or 'root'}.zone"
        apex = "ns.root.invalid." if not zone else f"{zone}."
        files[zonefile.name] = (
            f"$ORIGIN {zone}.\n"
            f"@ 3600 IN SOA {apex} nobody.invalid. 1 3600 600 86400 300\n"
            f"@ 3600 IN NS {apex}\n" + body
        )
        lines += [
            "auth-zone:",
            f'  name: "{zone}."',
            f'  zonefile: "{zonefile}"',
            "  for-upstream: yes",
            "  for-downstream: no",
            "  fallback-enabled: no",
        ]
    lines += [
        # on a socket in the lab's directory only: what its cache holds, for a test
        "remote-control:",
        "  control-enable: yes",
        f'  control-interface: "{state / "unbound.ctl"}"',
        "  control-use-cert: no",
        "",
    ]
    return "\n".join(lines), files


def start(lab: Lab, dns: DnsServer) -> None:
    say("starting unbound in the inet namespace")
    text, zonefiles = unbound_conf(lab.state, dns)
    for name, body in zonefiles.items():
        (lab.state / name).write_text(body)
    conf = lab.state / "unbound.conf"
    conf.write_text(text)
    spawn_unbound(lab)


def spawn_unbound(lab: Lab) -> None:
    """unbound on the lab's unbound.conf, in the inet namespace, until it listens."""
    conf = lab.state / "unbound.conf"
    run("unbound-checkconf", str(conf))
    lab.spawn("unbound", ["ip", "netns", "exec", lab.ns("inet"), "unbound", "-d", "-c", str(conf)])
    lab.wait_for(lambda: "53" in lab.in_ns("inet", "ss", "-lnu", check=False), "unbound to listen")


def wait_until_answered(lab: Lab, dns: DnsServer) -> None:
    """Up means the host's first question is answered: the nameserver asked from the host
    over each family it serves (the first run on a fresh lab saw its IPv6 queries time out
    for a second, twice in a CI's 60 fresh labs, while IPv4 answered)."""
    for server in dns.listen:
        answered = functools.partial(soa_answered, lab, server)
        lab.wait_for(answered, f"the nameserver {server} to answer the host")


def soa_answered(lab: Lab, server: str) -> bool:
    soa = ["busybox", "nslookup", "-type=soa", f"{T.ZONE}.", server]
    out = lab.in_ns("host", "timeout", "2", *soa, check=False)
    return "origin" in out.lower() or "nobody.invalid" in out
