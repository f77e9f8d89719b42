"""Judgement of AF-02: a client that reaches a published port over IPv6 keeps its own address
in the container (RFC 9293's connection is the client's, not a proxy's), or the container sees
the proxy's or its gateway's; pure functions over probes.client_addr's findings."""

from __future__ import annotations

import ipaddress

from probes.client_addr import ClientAddressSeen, Conn
from rules.judgement import Fix, Judgement, fact, failed, not_observed, passed

DAEMON_JSON = "/etc/docker/daemon.json"


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return None


def _among(address: str, addresses: tuple[str, ...]) -> bool:
    ip = _ip(address)
    return ip is not None and ip in {_ip(a) for a in addresses}


def _ip6tables_fix(docker_major: int, docker_version: str = "") -> str:
    if docker_major >= 27:
        return (
            f"Docker {docker_version or docker_major} writes them by default, where "
            f'{DAEMON_JSON} does not say "ip6tables": false'
        )
    version = docker_version or docker_major or "before 27"
    return (
        f'"ip6tables": true with "experimental": true in {DAEMON_JSON} (Docker {version} has '
        "ip6tables only as an experimental option; it also masquerades the networks' IPv6 "
        "outbound, NAT66), or upgrade to 27 or later, where it is the default (and gateway "
        "mode routed keeps the containers' addresses outbound too)"
    )


def judge_client_address(
    seen: ClientAddressSeen,
    *,
    docker_major: int,
    ip6tables_dnat: bool | None = None,
    docker_version: str = "",
) -> Judgement:
    """AF-02: the container's own table shows the IPv6 client's address for a connection to a
    published port, not the proxy's (this host's) or its network's gateway's.

    ``ip6tables_dnat``: whether the host's ip6tables holds a DNAT rule for the host port (None:
    not known, nftables, or the firewall was not read): evidence for which path carried it."""
    port = seen.port
    evidence = list(seen.lines())
    where = f"{port.container}'s {port.reached_at}"
    if seen.stand_in:
        evidence.insert(
            0,
            "no far end is named (far_end_namespace): this host's own namespace stood in for "
            "an outside client, connecting to its own published address as one would",
        )
    if not seen.connected:
        return not_observed(
            f"{where} is not reachable over IPv6 at {seen.target} from {seen.client_where} "
            f"({seen.error}): there is no IPv6 client whose address could survive",
            evidence,
        )
    kept = seen.kept
    rules_fix = _ip6tables_fix(docker_major, docker_version)
    if kept is not None:
        return passed(
            f"the container {port.container} sees the client's own address {seen.client} "
            f"(port {seen.client_port}) on {where}: {kept.text()}",
            evidence,
        )
    proxied = [c for c in seen.seen if _proxy_side(c, seen)]
    if not proxied:
        why = (
            f"the container exited meanwhile ({seen.error or 'gone'})"
            if seen.gone
            else "the connection was accepted at the host but never reached the container (no "
            f"row in its table: {seen.error}): it is not reachable over IPv6 there, so no "
            "client's address can survive (a listener on the host holds the port and carries "
            "nothing: Docker's own placeholder where neither its userland proxy nor an "
            "ip6tables DNAT rule takes IPv6, or another service)"
            if not seen.seen
            else "the connections that appeared came from neither the client nor this host nor "
            "the network's gateway: another client's, or a rewriting the harness cannot place"
        )
        return not_observed(f"{where}: {why}", evidence)
    got = proxied[0]
    family = "IPv4" if ":" not in got.remote else "IPv6"
    evidence.append(
        f"the container's network(s): {', '.join(n.name for n in port.networks) or 'unknown'}; "
        f"gateways {', '.join(port.gateways) or 'none'}; this host's addresses include "
        f"{', '.join(seen.host_addresses[:6]) or 'none read'}"
    )
    if ip6tables_dnat is not None:
        said = "a" if ip6tables_dnat else "no"
        evidence.append(f"the host's firewall: {said} DNAT rule for port {port.host_port}")
    if not port.has_ipv6:
        path = (
            "the userland proxy (docker-proxy) took the IPv6 connection and opened its own to "
            f"the container over {family}: the container has no IPv6 on its network"
        )
        names = [n.name for n in port.networks if not n.enable_ipv6] or ["NETWORK"]
        nets = ", ".join(names)
        subnet = "" if docker_major >= 27 else " --subnet YOUR:PREFIX::/64"
        fix = Fix(
            f"give the container IPv6 on its network ({nets}: enable_ipv6, e.g. a new network "
            "made with --ipv6, compose's enable_ipv6: true) with Docker writing ip6tables rules; "
            f"{rules_fix}. Docker then DNATs the IPv6 connection to the container's IPv6 "
            'address and the client\'s address survives. ("userland-proxy": false alone '
            "does not keep it: without the proxy nothing carries IPv6 to a container that has "
            "none.)",
            commands=(
                f"docker network create --ipv6{subnet} {names[0]}-v6   # then: docker network "
                "connect, or recreate the container on it",
            ),
            docker=docker_version or (str(docker_major) if docker_major else None),
        )
        subject = nets
    elif ip6tables_dnat is False or (ip6tables_dnat is None and docker_major < 27):
        path = (
            "the userland proxy (docker-proxy) carried the IPv6 connection: Docker writes no "
            "ip6tables rules here, so nothing DNATs it to the container"
        )
        fix = Fix(
            f"let Docker write ip6tables rules: {rules_fix}; then restart dockerd. With them "
            "it DNATs IPv6 connections to published ports and the client's address survives "
            '("userland-proxy": false then stops the proxy taking any).',
            docker=docker_version or (str(docker_major) if docker_major else None),
        )
        subject = "ip6tables"
    else:
        path = (
            "the userland proxy (docker-proxy) carried the connection though the container has "
            "IPv6: the DNAT rule did not take it (userland-proxy on)"
        )
        fix = Fix(
            f'"userland-proxy": false in {DAEMON_JSON}, then restart dockerd: Docker\'s DNAT '
            "rules then carry every IPv6 connection, the client's address intact",
            docker=docker_version or (str(docker_major) if docker_major else None),
        )
        subject = "userland-proxy"
    return failed(
        f"the container {port.container} sees {got.remote} ({_whose(got.remote, seen)}), not "
        f"the client {seen.client}, on {where}: {path}",
        evidence,
        fix=fix,
        hop="host",
        breaks=[fact("client-address", subject)],
    )


def _proxy_side(conn: Conn, seen: ClientAddressSeen) -> bool:
    """A connection from this host (the proxy) or the network's gateway (one of the host's
    addresses on the bridge), not from the client."""
    return _among(conn.remote, seen.port.gateways) or _among(conn.remote, seen.host_addresses)


def _whose(address: str, seen: ClientAddressSeen) -> str:
    if _among(address, seen.port.gateways):
        return "its network's gateway: this host's proxy"
    return "this host's own address: its proxy"
