"""The parties beyond the host, told a fix: the lab's realisation, on its own DNS server
(unbound, inet namespace), router (radvd, upstream), NAT64 gateway (tayga, inet) and upstream
router's firewall, of what a printed fix asks, with exactly the values it names
(results.json's ``fix_values``, rules.judgement.FIX_VALUES).

Each party acts only on values that are its own: an address it does not have, a prefix it does
not synthesize from, is refused (LabError), as a real party told the wrong values could not
carry the fix out. What a realisation does is the smallest change to that party's own
configuration that the fix's words ask for; whether it heals is for the suites to say.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import signal
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from lab import dns, far_end
from lab import topology as T
from lab.errors import LabError
from lab.processes import HeldProcess, PidRecord, signal_all

if TYPE_CHECKING:
    from lab.lab import Lab

ROLES = ("host", "upstream", "inet")
# an ip6tables-save line matching ICMPv6 Packet Too Big (type 2; saved by number)
TOO_BIG = re.compile(r"--icmpv6-type (2|packet-too-big)(\s|$)")
# which values each party acts on, by fix_where
PARTY_VALUES = {
    "DNS server": ("listen", "dns64-off", "nat64-prefix"),
    "router": ("rdnss", "dnssl", "lifetime"),
    "NAT64 gateway": ("nat64-prefix",),
    "upstream router": ("send-packet-too-big",),
}


def owner(lab: Lab, address: str) -> str | None:
    """The lab namespace with ``address`` on one of its interfaces, if any."""
    try:
        wanted = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return None
    for role in ROLES:
        out = lab.in_ns(role, "ip", "-o", "addr", "show", check=False)
        for found in re.findall(r"inet6? ([0-9a-fA-F:.]+)/", out):
            if ipaddress.ip_address(found) == wanted:
                return role
    return None


def _stop(lab: Lab, daemon: str) -> None:
    record = PidRecord.parse((lab.state / f"{daemon}.lab-pid").read_text())
    proc = HeldProcess.open(record.pid) if record is not None else None
    if proc is not None:
        signal_all([proc], signal.SIGTERM, grace=10.0)


def _unbound_conf(lab: Lab) -> str:
    return (lab.state / "unbound.conf").read_text()


def _unbound_again(lab: Lab, text: str, listen: Sequence[str]) -> None:
    """unbound restarted on ``text`` (interfaces are bound at start only), answering on each
    of ``listen`` as it did at ``up``."""
    (lab.state / "unbound.conf").write_text(text)
    _stop(lab, "unbound")
    dns.spawn_unbound(lab)
    for server in listen:
        answered = functools.partial(dns.soa_answered, lab, server)
        lab.wait_for(answered, f"the nameserver {server} to answer the host")


def _interfaces(text: str) -> list[str]:
    return re.findall(r"^\s*interface: (\S+)$", text, re.MULTILINE)


def dns_listen(lab: Lab, addresses: Sequence[str]) -> None:
    """The DNS server listens on ``addresses`` too (unbound: interface: ADDRESS)."""
    text = _unbound_conf(lab)
    for address in addresses:
        if owner(lab, address) != "inet":
            raise LabError(f"the lab's DNS server (inet) has no address {address}")
        if address in _interfaces(text):
            continue
        last = list(re.finditer(r"^\s*interface: \S+\n", text, re.MULTILINE))[-1]
        text = text[: last.end()] + f"  interface: {address}\n" + text[last.end() :]
    _unbound_again(lab, text, _interfaces(text))


def dns64_off(lab: Lab, servers: Sequence[str], prefixes: Sequence[str]) -> None:
    """The resolvers named stop synthesizing AAAA: each must be the lab's DNS server, and the
    prefix named the one it synthesizes from."""
    text = _unbound_conf(lab)
    for server in servers:
        if server not in _interfaces(text):
            raise LabError(f"the lab's DNS server does not answer on {server}")
    configured = re.findall(r"^\s*dns64-prefix: (\S+)$", text, re.MULTILINE)
    if not configured or set(configured) - set(prefixes):
        raise LabError(f"the lab's DNS server synthesizes from {configured}, not {prefixes}")
    text = re.sub(r"^\s*dns64-prefix: \S+\n", "", text, flags=re.MULTILINE)
    text = text.replace('module-config: "dns64 iterator"', 'module-config: "iterator"')
    _unbound_again(lab, text, _interfaces(text))


def announce(lab: Lab, rdnss: Sequence[str], dnssl: Sequence[str], lifetime: int) -> None:
    """The router announces RDNSS ``rdnss`` and DNSSL ``dnssl`` with ``lifetime`` (radvd's
    lines, read again on SIGHUP). The lab's router announces only the lab's DNS server, with
    a lifetime RFC 8106 allows for its interval."""
    if lifetime < 3 * T.RA_MAX_INTERVAL:
        raise LabError(f"lifetime {lifetime} s is below 3 × the router's {T.RA_MAX_INTERVAL} s")
    for server in rdnss:
        if owner(lab, server) != "inet":
            raise LabError(f"no DNS server of the lab answers on {server}")
    conf = lab.state / "radvd.conf"
    lines = conf.read_text().splitlines()
    end = len(lines) - 1  # the interface's closing "};"
    if rdnss:
        lines.insert(end, f"  RDNSS {' '.join(rdnss)} {{ AdvRDNSSLifetime {lifetime}; }};")
    if dnssl:
        lines.insert(end, f"  DNSSL {' '.join(dnssl)} {{ AdvDNSSLLifetime {lifetime}; }};")
    conf.write_text("\n".join(lines) + "\n")
    record = PidRecord.parse((lab.state / "radvd.lab-pid").read_text())
    proc = HeldProcess.open(record.pid) if record is not None else None
    if proc is None:
        raise LabError("the lab's radvd is not running")
    proc.signal(signal.SIGHUP)
    proc.close()


def translate(lab: Lab, prefixes: Sequence[str]) -> None:
    """The NAT64 gateway translates ``prefixes``: tayga started for it, in the inet namespace,
    where the upstream's default route leads. The lab's gateway serves the prefix its DNS
    server synthesizes from."""
    configured = re.findall(r"^\s*dns64-prefix: (\S+)$", _unbound_conf(lab), re.MULTILINE)
    if len(prefixes) != 1 or list(prefixes) != configured:
        raise LabError(f"the lab's NAT64 gateway is for {configured}, not {list(prefixes)}")
    far_end.start_nat64(lab, prefixes[0])


def send_packet_too_big(lab: Lab, routers: Sequence[str]) -> None:
    """The router named sends its Packet Too Big (and lets them through): the rules of its
    own firewall that drop them go."""
    for router in routers:
        role = owner(lab, router)
        if role is None or role == "host":
            raise LabError(f"no router of the lab has {router}")
        dump = lab.in_ns(role, "ip6tables-save", "-t", "filter")
        dropping = [
            line.split()[1:]
            for line in dump.splitlines()
            if line.startswith("-A ")
            and TOO_BIG.search(line)
            and any(f"-j {verdict}" in line for verdict in ("DROP", "REJECT"))
        ]
        if not dropping:
            raise LabError(f"the {role} router at {router} drops no Packet Too Big of its own")
        for rule in dropping:
            lab.in_ns(role, "ip6tables", "-D", *rule)


def realise(lab: Lab, fixes: Sequence[tuple[str, Mapping[str, Sequence[str]]]]) -> None:
    """Every party's fixes of one round, ``(fix_where, fix_values)`` each, carried out by the
    party the fix is for, each party once with all its values."""
    by_party: dict[str, dict[str, list[str]]] = {}
    for where, values in fixes:
        if where not in PARTY_VALUES:
            raise LabError(f"no party of the lab acts for {where!r}")
        mine = by_party.setdefault(where, {})
        for name, named in values.items():
            if name not in PARTY_VALUES[where]:
                raise LabError(f"the {where} is given {name!r}, which it does not act on")
            mine.setdefault(name, [])
            mine[name] += [v for v in named if v not in mine[name]]
    for where, values in by_party.items():
        if not values:
            raise LabError(f"the fix for the {where} names no values to act on")
        if where == "DNS server":
            if values.get("listen"):
                dns_listen(lab, values["listen"])
            if values.get("dns64-off"):
                dns64_off(lab, values["dns64-off"], values.get("nat64-prefix", []))
        elif where == "router":
            lifetimes = values.get("lifetime", [])
            if len(lifetimes) != 1:
                raise LabError(f"the router is given lifetimes {lifetimes}: one is needed")
            announce(lab, values.get("rdnss", []), values.get("dnssl", []), int(lifetimes[0]))
        elif where == "NAT64 gateway":
            translate(lab, values["nat64-prefix"])
        else:
            send_packet_too_big(lab, values["send-packet-too-big"])
